"""Private data for one backend pair, made for one bench run and removed after.

SQLite and file locks get a temporary folder. Cassandra gets a keyspace
named `bench_<random>` and ZooKeeper a root `/lockstep-bench/<random>`, both
dropped at the end, on the servers at 127.0.0.1 that `make services` starts.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.utils.module_loading import import_string

from gameserver.config import lock_settings, storage_settings
from locking.base import LockBackend
from storage.base import Storage

ROOT = Path(__file__).resolve().parent.parent
PAIRS = {
    "sqlite+local": ("sqlite", "local"),
    "cassandra+zookeeper": ("cassandra", "zookeeper"),
}
CASSANDRA_HOST = "127.0.0.1"
CASSANDRA_PORT = 9042
ZOOKEEPER_HOST = "127.0.0.1"
ZOOKEEPER_PORT = 2181
ZOOKEEPER_BENCH_ROOT = "/lockstep-bench"


def missing_services(pair: str) -> list[str]:
    """Return a sentence for each service of `pair` that does not respond."""
    storage, locks = PAIRS[pair]
    problems = []
    if storage == "cassandra":
        try:
            with socket.create_connection((CASSANDRA_HOST, CASSANDRA_PORT), timeout=3):
                pass
        except OSError as exc:
            problems.append(
                f"Cassandra does not accept connections on "
                f"{CASSANDRA_HOST}:{CASSANDRA_PORT} ({exc})"
            )
    if locks == "zookeeper":
        reply = b""
        try:
            with socket.create_connection(
                (ZOOKEEPER_HOST, ZOOKEEPER_PORT), timeout=3
            ) as s:
                s.sendall(b"ruok")
                reply = s.recv(16)
        except OSError as exc:
            reply = str(exc).encode()
        if reply != b"imok":
            problems.append(
                f"ZooKeeper on {ZOOKEEPER_HOST}:{ZOOKEEPER_PORT} did not return imok "
                f"to ruok (got {reply[:60]!r})"
            )
    return problems


def private_env(pair: str, workdir: Path) -> dict[str, str]:
    """Return the LOCKSTEP_* variables that point a server at fresh data of its own."""
    storage, locks = PAIRS[pair]
    run_id = uuid.uuid4().hex[:12]
    env = {"LOCKSTEP_STORAGE": storage, "LOCKSTEP_LOCKS": locks}
    if storage == "sqlite":
        env["LOCKSTEP_SQLITE_PATH"] = str(workdir / "lockstep.sqlite3")
    else:
        env["LOCKSTEP_CASSANDRA_HOSTS"] = CASSANDRA_HOST
        env["LOCKSTEP_CASSANDRA_PORT"] = str(CASSANDRA_PORT)
        env["LOCKSTEP_CASSANDRA_KEYSPACE"] = f"bench_{run_id}"
    if locks == "local":
        env["LOCKSTEP_LOCK_DIR"] = str(workdir / "locks")
    else:
        env["LOCKSTEP_ZOOKEEPER_HOSTS"] = f"{ZOOKEEPER_HOST}:{ZOOKEEPER_PORT}"
        env["LOCKSTEP_ZOOKEEPER_ROOT"] = f"{ZOOKEEPER_BENCH_ROOT}/{run_id}"
    return env


@contextmanager
def _environment(env: dict[str, str]):
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def open_storage(env: dict[str, str]) -> Storage:
    """Open the storage backend that a server with `env` would use, schema included."""
    with _environment(env):
        dotted, options = storage_settings(ROOT)
    if env["LOCKSTEP_STORAGE"] == "cassandra":
        options["create_schema"] = True
    storage = import_string(dotted)(**options)
    storage.ping()
    return storage


def open_locks(env: dict[str, str]) -> LockBackend:
    """Open the lock backend that a server with `env` would use."""
    with _environment(env):
        dotted, options = lock_settings(ROOT)
    backend = import_string(dotted)(**options)
    backend.ping()
    return backend


def remove_private_data(env: dict[str, str]) -> None:
    """Drop the keyspace and the ZooKeeper root that `env` names, if any.

    The temporary folder of SQLite and file locks is the caller's to delete.
    """
    keyspace = env.get("LOCKSTEP_CASSANDRA_KEYSPACE")
    if keyspace is not None:
        _drop_keyspace(keyspace)
    root = env.get("LOCKSTEP_ZOOKEEPER_ROOT")
    if root is not None:
        _delete_znode(root)


def _drop_keyspace(keyspace: str) -> None:
    from cassandra import ProtocolVersion
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy

    if not keyspace.startswith("bench_"):
        raise ValueError(
            f"Refusing to drop keyspace {keyspace!r}: not a bench keyspace."
        )
    cluster = Cluster(
        [CASSANDRA_HOST],
        port=CASSANDRA_PORT,
        protocol_version=ProtocolVersion.V5,
        execution_profiles={
            EXEC_PROFILE_DEFAULT: ExecutionProfile(
                load_balancing_policy=RoundRobinPolicy()
            )
        },
    )
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=120)
    finally:
        cluster.shutdown()


def _delete_znode(root: str) -> None:
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError

    if not root.startswith(ZOOKEEPER_BENCH_ROOT + "/"):
        raise ValueError(
            f"Refusing to delete znode {root!r}: not under the bench root."
        )
    client = KazooClient(hosts=f"{ZOOKEEPER_HOST}:{ZOOKEEPER_PORT}")
    client.start(timeout=10)
    try:
        client.delete(root, recursive=True)
    except NoNodeError:
        pass
    finally:
        client.stop()
        client.close()
