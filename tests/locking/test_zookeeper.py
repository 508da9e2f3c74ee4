"""ZooKeeper lock backend: session loss, znode cleanup and an unreachable server.

A lost connection is made by cutting a TcpProxy in front of the shared test
server, and an expired session by closing it from a second client with the
same session id and password. The server itself keeps running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import unquote

import pytest
from kazoo.client import KazooClient
from lock_support import ZOOKEEPER_HOSTS, skip_unless_selected, wait_until

from locking.base import LockLost, LockUnavailable
from locking.zookeeper import ZooKeeperLockBackend, znode_path

pytestmark = [pytest.mark.timeout(120), skip_unless_selected("zookeeper")]

# Seconds an acquire may take beyond its bound before a test calls it late.
MARGIN = 1.0

NAME = "game/5d0c6b1e-8f6e-4c1b-a0de-7f3f6f2f9c42"


@pytest.fixture
def make_backend(zk_root: str) -> Iterator[Callable[..., ZooKeeperLockBackend]]:
    """Build ZooKeeper backends under the test's root, closed when the test ends."""
    backends: list[ZooKeeperLockBackend] = []

    def make(**options) -> ZooKeeperLockBackend:
        backend = ZooKeeperLockBackend(
            **{"hosts": ZOOKEEPER_HOSTS, "root": zk_root, **options}
        )
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        backend.close()


def kazoo_client_of(backend: ZooKeeperLockBackend) -> KazooClient:
    """Return the backend's connected client, reaching into its private state."""
    backend.ping()
    connection = backend._connection
    assert connection is not None
    return connection.client


def expire_session(client: KazooClient) -> None:
    """Expire `client`'s session: join it from a second client, then close it there."""
    session_id, password = client.client_id
    intruder = KazooClient(hosts=ZOOKEEPER_HOSTS, client_id=(session_id, password))
    intruder.start(timeout=10)
    intruder.stop()
    intruder.close()


def raises_lock_lost(lock) -> bool:
    try:
        lock.check_held()
    except LockLost:
        return True
    return False


def responds_to_ping(backend: ZooKeeperLockBackend) -> bool:
    try:
        backend.ping()
    except LockUnavailable:
        return False
    return True


def test_znode_path_encodes_name_as_one_segment():
    assert znode_path("/r", "game/1") == "/r/game%2F1"
    assert znode_path("/r", "game%2F1") == "/r/game%252F1"
    assert znode_path("/r", ".") == "/r/%2E"
    assert znode_path("/r", "..") == "/r/%2E%2E"


def test_znode_path_is_injective():
    names = ["game/1", "game%2F1", "game_1", "game/1/", ".", "..", "%2E", "a b", "ü"]

    segments = [znode_path("/r", name).removeprefix("/r/") for name in names]

    assert len(set(segments)) == len(names)
    for name, segment in zip(names, segments, strict=True):
        assert "/" not in segment
        assert segment not in (".", "..")
        assert segment.isascii()
        assert unquote(segment) == name


def test_znode_path_rejects_empty_name():
    with pytest.raises(ValueError, match="must not be empty"):
        znode_path("/r", "")


@pytest.mark.parametrize("root", ["lockstep/locks", "/lockstep/locks/", "/"])
def test_backend_rejects_invalid_root(root):
    with pytest.raises(ValueError, match="absolute path without a trailing slash"):
        ZooKeeperLockBackend(root=root)


def test_release_leaves_no_znodes(make_backend, zk_client, zk_root):
    first = make_backend()
    second = make_backend()
    for name in ["game/a", "game/b", "chat/a"]:
        lock = first.lock(name)
        assert lock.acquire(timeout=5)
        lock.release()

    # A contended lock: the waiter gets it when the holder releases.
    holder = first.lock(NAME)
    waiter = second.lock(NAME)
    assert holder.acquire(timeout=5)
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(waiter.acquire(10)))
    thread.start()
    wait_until(
        lambda: len(zk_client.get_children(holder.path)) == 2,
        5,
        "the waiter queues behind the holder",
    )
    holder.release()
    thread.join(timeout=15)
    assert outcome == [True]
    waiter.release()

    assert zk_client.get_children(zk_root) == []


def test_acquire_recreates_znode_deleted_by_concurrent_release(
    make_backend, zk_client, monkeypatch
):
    backend = make_backend()
    client = kazoo_client_of(backend)
    ensure_path = client.ensure_path
    deleted: list[str] = []

    def ensure_path_then_lose_it(path, acl=None):
        # Another process's release deletes the empty znode right after
        # kazoo's recipe made sure it exists, before its create.
        result = ensure_path(path, acl)
        if not deleted:
            zk_client.delete(path)
            deleted.append(path)
        return result

    monkeypatch.setattr(client, "ensure_path", ensure_path_then_lose_it)
    lock = backend.lock(NAME)

    assert lock.acquire(timeout=5) is True
    assert deleted == [lock.path]
    assert len(zk_client.get_children(lock.path)) == 1
    lock.release()


def test_session_expiry_loses_lock(make_backend):
    backend = make_backend()
    lock = backend.lock(NAME)
    assert lock.acquire(timeout=5)
    session_id = kazoo_client_of(backend).client_id[0]

    expire_session(kazoo_client_of(backend))

    wait_until(lambda: raises_lock_lost(lock), 10, "check_held raises LockLost")
    other = make_backend().lock(NAME)
    assert other.acquire(timeout=10) is True
    other.release()

    started = time.monotonic()
    lock.release()
    assert time.monotonic() - started < MARGIN

    # kazoo reconnects by itself with a new session.
    wait_until(lambda: responds_to_ping(backend), 15, "the backend reconnects")
    assert kazoo_client_of(backend).client_id[0] != session_id
    again = backend.lock(NAME)
    assert again.acquire(timeout=5) is True
    again.check_held()
    again.release()


def test_unreachable_server_raises_lock_unavailable(make_backend, free_port):
    hosts = f"127.0.0.1:{free_port}"
    backend = make_backend(hosts=hosts, connect_timeout=1.0)
    lock = backend.lock(NAME)

    started = time.monotonic()
    with pytest.raises(LockUnavailable) as excinfo:
        lock.acquire(timeout=5)
    elapsed = time.monotonic() - started

    assert elapsed < 1.0 + MARGIN
    assert hosts in str(excinfo.value)

    # The outage is known now, so the next request fails at once.
    started = time.monotonic()
    with pytest.raises(LockUnavailable):
        backend.lock(NAME).acquire(timeout=5)
    assert time.monotonic() - started < 0.2
    with pytest.raises(LockUnavailable):
        backend.ping()


def test_dropped_connection_loses_held_lock(make_backend, zk_proxy):
    proxied = make_backend(
        hosts=f"127.0.0.1:{zk_proxy.port}", session_timeout=20, connect_timeout=1.0
    )
    lock = proxied.lock(NAME)
    assert lock.acquire(timeout=5)
    session_id = kazoo_client_of(proxied).client_id[0]

    zk_proxy.cut()

    wait_until(lambda: raises_lock_lost(lock), 5, "check_held raises LockLost")
    started = time.monotonic()
    lock.release()
    assert time.monotonic() - started < 0.2

    started = time.monotonic()
    with pytest.raises(LockUnavailable):
        proxied.lock("game/other").acquire(timeout=5)
    assert time.monotonic() - started < 1.0 + MARGIN

    # The session survives the short outage, so its lock node survives too
    # until the release that waited for the reconnect deletes it.
    zk_proxy.restore()
    wait_until(lambda: responds_to_ping(proxied), 10, "the backend reconnects")
    assert kazoo_client_of(proxied).client_id[0] == session_id
    other = make_backend().lock(NAME)
    assert other.acquire(timeout=5) is True
    other.release()


def test_dropped_connection_ends_waiting_acquire(make_backend, zk_proxy):
    holder = make_backend().lock(NAME)
    assert holder.acquire(timeout=5)
    proxied = make_backend(hosts=f"127.0.0.1:{zk_proxy.port}", connect_timeout=1.0)
    waiter = proxied.lock(NAME)
    kazoo_client_of(proxied)
    cutter = threading.Timer(0.5, zk_proxy.cut)
    cutter.start()

    started = time.monotonic()
    with pytest.raises(LockUnavailable, match="connection to ZooKeeper was lost"):
        waiter.acquire(timeout=30)
    elapsed = time.monotonic() - started

    cutter.join()
    assert elapsed < 0.5 + MARGIN
    holder.release()


def leave_empty_lock_znode(zk_root: str, name: str) -> str:
    """Queue a contender on a session of its own, then end that session.

    This is what a process killed while it waited leaves: the server deletes
    the contender node with the session, and the lock znode stays empty.
    """
    path = znode_path(zk_root, name)
    doomed = KazooClient(hosts=ZOOKEEPER_HOSTS)
    doomed.start(timeout=10)
    try:
        doomed.create(
            f"{path}/contender-", ephemeral=True, sequence=True, makepath=True
        )
    finally:
        doomed.stop()
        doomed.close()
    return path


def test_sweep_deletes_only_old_empty_lock_znodes(make_backend, zk_client, zk_root):
    backend = make_backend()
    old_empty = leave_empty_lock_znode(zk_root, "game/crashed")
    busy_lock = backend.lock("game/busy")
    assert busy_lock.acquire(timeout=5)
    try:
        assert zk_client.get_children(old_empty) == []

        # Nothing is old enough yet.
        assert backend.sweep(min_age=3600) == 0
        assert zk_client.exists(old_empty) is not None

        time.sleep(0.05)
        assert backend.sweep(min_age=0) == 1
        assert zk_client.exists(old_empty) is None
        # The held lock keeps its znode and its contender.
        assert len(zk_client.get_children(busy_lock.path)) == 1
        busy_lock.check_held()
    finally:
        busy_lock.release()
    assert zk_client.get_children(zk_root) == []


def test_sweep_without_root_deletes_nothing(make_backend):
    backend = make_backend(root="/lockstep-test-never-created")
    assert backend.sweep(min_age=0) == 0


def test_sweep_after_expired_holder(make_backend, zk_client, zk_root):
    # A holder whose session ends while a waiter is queued behind it. The
    # waiter gives up first. The server then deletes the holder's node with
    # its session, and no process is left to delete the lock znode.
    backend = make_backend()
    path = znode_path(zk_root, NAME)
    foreign = KazooClient(hosts=ZOOKEEPER_HOSTS)
    foreign.start(timeout=10)
    try:
        assert foreign.Lock(path).acquire(timeout=5)
        lock = backend.lock(NAME)
        outcome: list[bool] = []
        thread = threading.Thread(target=lambda: outcome.append(lock.acquire(1.0)))
        thread.start()
        wait_until(
            lambda: len(zk_client.get_children(path)) == 2,
            5,
            "the waiter queues behind the foreign holder",
        )
        thread.join(timeout=10)
        assert outcome == [False]
        wait_until(
            lambda: len(zk_client.get_children(path)) == 1,
            5,
            "the waiter leaves the queue",
        )
    finally:
        foreign.stop()
        foreign.close()

    assert zk_client.get_children(path) == []
    assert backend.sweep(min_age=0) == 1
    assert zk_client.get_children(zk_root) == []
