"""Services called in this process on real backends, with a clock that tests move.

`services_on(pair, clock)` points the Django settings at the backends of a
fencing BackendPair (tests/fencing/conftest.py builds them: a SQLite file
and file locks, or a Cassandra keyspace and a ZooKeeper root), so service
functions run exactly as in a gunicorn worker. Each pair has two clients
with their own connections and lock sessions, as two worker processes
would. The services use client one, except in threads run with
`as_client_two`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings

from gameserver import clock as server_clock
from locking import reset_lock_backend
from locking.base import LockBackend
from storage import StorageError, reset_storage

_route = threading.local()
_keyspace: str | None = None


class MovableClock:
    """The system clock plus an offset that `advance` grows."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def provided_backend(instance):
    """Return `instance`, so that settings can hand a ready backend to the services."""
    return instance


def _client(pair):
    return pair.two if getattr(_route, "client_two", False) else pair.one


class RoutedStorage:
    """Storage of client one, or of client two in threads run with `as_client_two`."""

    def __init__(self, pair):
        self._pair = pair

    def __getattr__(self, name):
        return getattr(_client(self._pair).storage, name)

    def close(self) -> None:
        # The fixture that built the pair closes its backends.
        pass


class RoutedLocks(LockBackend):
    """Locks of client one, or of client two in threads run with `as_client_two`."""

    def __init__(self, pair):
        super().__init__(pair.one.locks.default_timeout)
        self._pair = pair

    def lock(self, name):
        return _client(self._pair).locks.lock(name)

    def ping(self) -> None:
        _client(self._pair).locks.ping()


@contextmanager
def as_client_two() -> Iterator[None]:
    """Run the block, in this thread, on client two's connections and locks."""
    _route.client_two = True
    try:
        yield
    finally:
        _route.client_two = False


@contextmanager
def services_on(pair, clock: MovableClock) -> Iterator[None]:
    """Point the services at `pair` and the server clock at `clock` for the block."""
    backend_settings = override_settings(
        LOCKSTEP_STORAGE_BACKEND=f"{__name__}.provided_backend",
        LOCKSTEP_STORAGE_OPTIONS={"instance": RoutedStorage(pair)},
        LOCKSTEP_LOCK_BACKEND=f"{__name__}.provided_backend",
        LOCKSTEP_LOCK_OPTIONS={"instance": RoutedLocks(pair)},
    )
    with backend_settings:
        reset_storage()
        reset_lock_backend()
        server_clock.set_clock(clock)
        try:
            yield
        finally:
            server_clock.set_clock(None)
            reset_storage()
            reset_lock_backend()


@contextmanager
def inprocess_services(request, tmp_path) -> Iterator[tuple[object, MovableClock]]:
    """Build the backend pair of `request.param` and run the services on it.

    For a fixture parametrized like tests/fencing/conftest.py's `backend_pair`.
    The Cassandra keyspace comes from the `cassandra_keyspace` fixture, which
    the calling conftest must provide. Yields the pair and the clock.
    """
    from tests.fencing.conftest import distributed_pair, embedded_pair

    if request.param == ("sqlite", "local"):
        pair = embedded_pair(tmp_path)
    else:
        pair = distributed_pair(request)
    clock = MovableClock()
    try:
        with services_on(pair, clock):
            yield pair, clock
    finally:
        for client in (pair.one, pair.two):
            client.locks.close()
            client.storage.close()


def shared_cassandra_keyspace(config) -> str:
    """Return a keyspace with the whole schema, shared by every in-process test.

    Creating and dropping a keyspace takes seconds, so the test directories
    that run services in this process share one. It is created on first use
    and dropped when pytest cleans up `config` at the end of the session.
    Tests keep apart by using fresh ids.
    """
    global _keyspace
    if _keyspace is not None:
        return _keyspace
    from storage.cassandra import CassandraStorage
    from tests.fencing.conftest import CASSANDRA_HOSTS
    from tests.storage.backends import drop_keyspace

    keyspace = f"inprocess_{uuid.uuid4().hex[:12]}"
    storage = CassandraStorage(
        hosts=CASSANDRA_HOSTS, keyspace=keyspace, create_schema=True
    )
    try:
        storage.ping()
    except StorageError as exc:
        pytest.fail(
            f"Cassandra at {CASSANDRA_HOSTS} is not usable: {exc}. Start it with "
            "'bash scripts/services.sh start', or set "
            "LOCKSTEP_TEST_BACKENDS=sqlite,local.",
            pytrace=False,
        )
    finally:
        storage.close()
    config.add_cleanup(lambda: drop_keyspace(keyspace))
    _keyspace = keyspace
    return keyspace
