"""Backend pairs for the fencing tests, built in this process.

Each test gets two clients of the same data, as two gunicorn workers would
be: each has its own storage connection and its own lock backend (on
ZooKeeper, its own session). LOCKSTEP_TEST_BACKENDS selects the pairs as
for the API tests. The distributed pair is skipped while its modules are
not written, and fails, rather than skips, when they exist but Cassandra
or ZooKeeper cannot be reached.
"""

from __future__ import annotations

import fcntl
import importlib
import importlib.util
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from locking.base import Lock, LockBackend, LockError, LockLost
from storage.base import Storage, StorageError, WriteConflict
from tests.live import BACKEND_PAIRS, enabled_backends

ZOOKEEPER_HOSTS = "127.0.0.1:2181"
CASSANDRA_HOSTS = "127.0.0.1"
# Seconds to wait for a ZooKeeper client to notice that its session expired.
SESSION_LOSS_TIMEOUT = 20


@dataclass
class Client:
    """One side of the race: a storage connection and a lock backend of its own."""

    storage: Storage
    locks: LockBackend


@dataclass
class BackendPair:
    """Two clients of the same data, and the way to make a client lose a lock.

    `lose(lock)` takes the lock away from its holder without the holder
    releasing it. `detects_loss` is whether `check_held()` raises LockLost
    afterwards. ZooKeeper reports an expired session to its client, but no
    signal reaches a process whose flock was released behind its back.
    """

    name: str
    one: Client
    two: Client
    lose: Callable[[Lock], None]
    detects_loss: bool

    @property
    def stale_commit_error(self) -> type[Exception]:
        """The error `commit_game` raises for a holder that lost its lock."""
        return LockLost if self.detects_loss else WriteConflict


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}+{pair[1]}"


def selected_pairs() -> list[tuple[str, str]]:
    names = enabled_backends()
    return [pair for pair in BACKEND_PAIRS if pair[0] in names and pair[1] in names]


def import_backend_module(name: str):
    """Import a backend module; skip the test only while the module does not exist."""
    if importlib.util.find_spec(name) is None:
        return pytest.importorskip(name, reason=f"{name} is not written yet")
    return importlib.import_module(name)


# -- embedded pair: SQLite and file locks ---------------------------------


def release_flock_behind_holder(lock: Lock) -> None:
    """Drop a FileLock's flock while its holder still believes it holds it.

    A flock cannot be lost from outside while its descriptor stays open, so
    this reaches into the FileLock: it unlocks the holder's descriptor and
    leaves it open, as an operator's or a bug's forced release would. The
    holder's own `release()` later closes the descriptor as usual.
    """
    fd = lock._fd
    assert fd is not None, f"lock {lock.path} is not held"
    fcntl.flock(fd, fcntl.LOCK_UN)


def embedded_pair(tmp_path) -> BackendPair:
    from locking.local import FileLockBackend
    from storage.sqlite import SQLiteStorage

    def client() -> Client:
        return Client(
            storage=SQLiteStorage(path=str(tmp_path / "lockstep.sqlite3")),
            locks=FileLockBackend(directory=str(tmp_path / "locks")),
        )

    return BackendPair(
        name="sqlite+local",
        one=client(),
        two=client(),
        lose=release_flock_behind_holder,
        detects_loss=False,
    )


# -- distributed pair: Cassandra and ZooKeeper ------------------------------


def expire_zookeeper_session(lock: Lock) -> None:
    """End the ZooKeeper session that holds `lock`, and wait until its client sees it.

    This is kazoo's own testing technique: a second client attaches to the
    same session with its id and password and then closes it. The server
    ends the session and deletes its ephemeral nodes, which frees the lock,
    and the first client sees its connection drop and its session expire.
    It reaches into the ZooKeeperLock for its client, because no public API
    hands it out.
    """
    from kazoo.client import KazooClient

    client = lock._connection.client
    intruder = KazooClient(hosts=ZOOKEEPER_HOSTS, client_id=client.client_id)
    intruder.start(timeout=10)
    intruder.stop()
    intruder.close()

    deadline = time.monotonic() + SESSION_LOSS_TIMEOUT
    while time.monotonic() < deadline:
        try:
            lock.check_held()
        except LockLost:
            return
        time.sleep(0.05)
    pytest.fail(
        f"lock {lock.path} still looks held {SESSION_LOSS_TIMEOUT} s after its "
        "ZooKeeper session was closed"
    )


@pytest.fixture(scope="module")
def cassandra_keyspace():
    """A keyspace with the whole schema, shared by the module and dropped after it."""
    cassandra = import_backend_module("storage.cassandra")
    keyspace = f"fencing_{uuid.uuid4().hex[:12]}"
    storage = cassandra.CassandraStorage(
        hosts=CASSANDRA_HOSTS, keyspace=keyspace, create_schema=True
    )
    try:
        storage.ping()
    except StorageError as exc:
        storage.close()
        pytest.fail(
            f"Cassandra at {CASSANDRA_HOSTS} is not usable: {exc}. Start it with "
            "'bash scripts/services.sh start', or set "
            "LOCKSTEP_TEST_BACKENDS=sqlite,local.",
            pytrace=False,
        )
    yield keyspace
    session, _ = storage._connect()
    session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
    storage.close()


def distributed_pair(request) -> BackendPair:
    cassandra = import_backend_module("storage.cassandra")
    zookeeper = import_backend_module("locking.zookeeper")
    keyspace = request.getfixturevalue("cassandra_keyspace")
    root = f"/lockstep-test/fencing-{uuid.uuid4().hex[:12]}"
    request.addfinalizer(lambda: delete_zookeeper_tree(root))

    def client() -> Client:
        locks = zookeeper.ZooKeeperLockBackend(hosts=ZOOKEEPER_HOSTS, root=root)
        try:
            locks.ping()
        except LockError as exc:
            locks.close()
            pytest.fail(
                f"ZooKeeper at {ZOOKEEPER_HOSTS} is not usable: {exc}. Start it with "
                "'bash scripts/services.sh start', or set "
                "LOCKSTEP_TEST_BACKENDS=sqlite,local.",
                pytrace=False,
            )
        storage = cassandra.CassandraStorage(hosts=CASSANDRA_HOSTS, keyspace=keyspace)
        return Client(storage=storage, locks=locks)

    return BackendPair(
        name="cassandra+zookeeper",
        one=client(),
        two=client(),
        lose=expire_zookeeper_session,
        detects_loss=True,
    )


def delete_zookeeper_tree(root: str) -> None:
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError

    client = KazooClient(hosts=ZOOKEEPER_HOSTS)
    client.start(timeout=10)
    try:
        client.delete(root, recursive=True)
    except NoNodeError:
        pass
    finally:
        client.stop()
        client.close()


@pytest.fixture(params=selected_pairs(), ids=pair_id)
def backend_pair(request, tmp_path):
    if request.param == ("sqlite", "local"):
        pair = embedded_pair(tmp_path)
    else:
        pair = distributed_pair(request)
    yield pair
    for client in (pair.one, pair.two):
        client.locks.close()
        client.storage.close()
