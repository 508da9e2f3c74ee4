"""ZooKeeper lock backend: kazoo's Lock recipe, one znode per lock name.

A lock named ``game/<id>`` lives at ``<root>/game%2F<id>``: the name is
percent-encoded into one path segment. Contenders queue as ephemeral
sequential children of that znode, as kazoo's recipe does, and the first in
line holds the lock. After a release the empty znode is deleted, so an idle
game leaves nothing behind under the root.

Session loss: a lost ZooKeeper session means a lost lock. The server deletes
a session's ephemeral nodes when the session expires, and another process
can then take the lock while this one still runs. The client reports this as
the LOST state, and first as SUSPENDED when the connection drops. A process
cannot tell whether a suspended session will survive, so both states mark
every lock held through that connection as lost, and `check_held()` raises
LockLost from then on. Even so, a process paused past its session timeout
learns of the loss only after it resumes. The lock therefore only lowers the
odds of a conflict. The conditional write on the game's version (fencing) is
what actually keeps a stale holder from overwriting data.

Failure advice: `acquire()` returns False only when another holder keeps the
lock past the timeout. It raises LockUnavailable when ZooKeeper cannot be
reached, and in every case it returns within `timeout + RESPONSE_GRACE`
seconds plus thread scheduling:
- no connection: the caller waits for one until `connect_timeout` seconds
  after the connection went down (or the client was created), so during a
  known outage it fails at once;
- the connection drops during the acquire: it fails within 0.05 s;
- ZooKeeper does not respond by the deadline plus `RESPONSE_GRACE`.

kazoo queues a request made while the connection is down until the session
reconnects or ends, so its sync calls can block for as long as ZooKeeper is
down. Each acquire therefore runs kazoo's recipe on a helper thread of its
own, which takes the lock, holds it and releases it on request. The caller
waits with its own deadline and walks away from a stuck request.
kazoo reconnects by itself, with a new session after an expired one, and a
new client is started only when kazoo's connection loop has ended.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from urllib.parse import quote

from kazoo.client import KazooClient
from kazoo.exceptions import (
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    LockTimeout,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    SessionExpiredError,
)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KazooState, KeeperState
from kazoo.recipe.lock import Lock as KazooLock

from .base import Lock, LockBackend, LockLost, LockUnavailable

logger = logging.getLogger(__name__)

# Extra seconds, beyond an acquire's timeout, for ZooKeeper to respond to the
# requests that join and leave the queue. A healthy server on the same network
# responds in milliseconds, so only a failing server or connection uses this.
RESPONSE_GRACE = 1.0

# Tries, and seconds between them, of the delete of an empty lock znode.
DELETE_TRIES = 3
DELETE_RETRY_DELAY = 0.5

# How often a waiting caller checks whether the connection dropped.
_STATE_POLL_INTERVAL = 0.05

# Retry policy for the client's connection and for kazoo's release. It
# retries forever but waits at most one second between tries, so a restarted
# server is reconnected within about a second.
_RETRY_POLICY = {"max_tries": -1, "delay": 0.1, "backoff": 2, "max_delay": 1.0}


def znode_path(root: str, name: str) -> str:
    """Return the znode of the lock `name`: one percent-encoded segment under `root`.

    `quote(name, safe="")` encodes every character except letters, digits and
    ``-._~`` (``%`` and ``/`` included), so distinct names give distinct
    segments and the result is ASCII without slashes.
    """
    if not name:
        raise ValueError("Lock name must not be empty.")
    segment = quote(name, safe="")
    if segment in (".", ".."):
        # ZooKeeper rejects "." and ".." as path segments. "%" is always
        # encoded, so "%2E" cannot come from any other name.
        segment = segment.replace(".", "%2E")
    return f"{root}/{segment}"


class _DeadlineEvent(threading.Event):
    """Event whose waits end at a fixed deadline (time.monotonic()) at the latest."""

    def __init__(self, deadline: float):
        super().__init__()
        self._deadline = deadline

    def wait(self, timeout: float | None = None) -> bool:
        remaining = max(0.0, self._deadline - time.monotonic())
        if timeout is not None:
            remaining = min(timeout, remaining)
        return super().wait(remaining)


class _DeadlineLock(KazooLock):
    """kazoo's Lock whose wait for a predecessor ends at `deadline`.

    kazoo 2.11 starts a new wait of the full `timeout` each time the watched
    predecessor goes away while others remain ahead, so one acquire can wait
    several timeouts. This recipe waits on `wake_event` only, and replacing
    that event caps every wait at one deadline.
    """

    def __init__(
        self, client: KazooClient, path: str, identifier: str, deadline: float
    ):
        super().__init__(client, path, identifier)
        self.wake_event = _DeadlineEvent(deadline)

    def _ensure_path(self) -> None:
        # kazoo's ensure_path checks the lock znode, then its parent, before
        # creating it: three round trips, on every acquire, because each
        # release deletes the empty znode. Creating it straight away takes one.
        try:
            self.client.create(self.path)
        except NodeExistsError:
            pass
        except NoNodeError:
            # The root is missing, so create every level of the path.
            self.client.ensure_path(self.path)
        self.assured_path = True


class _Connection:
    """One KazooClient and the state its listener has seen."""

    def __init__(self, client: KazooClient):
        self.client = client
        # Increased on every SUSPENDED or LOST state. A lock remembers the
        # value at the start of its acquire and is lost once it changes.
        self.generation = 0
        self.connected = threading.Event()
        # time.monotonic() of the moment the connection went down, or of its
        # creation before the first connect. None while connected.
        self.down_since: float | None = time.monotonic()
        # Set when kazoo's connection loop has ended, so the client never
        # reconnects and must be replaced.
        self.ended = False
        self.closing = False
        self.outage_logged = False


class _LockHolder(threading.Thread):
    """Thread that acquires one kazoo Lock, holds it, and releases it on request.

    The caller waits for `finished`, then reads `acquired` and `error`. A
    caller that runs out of time calls `abandon()`, and the thread then
    releases whatever it still gets.
    """

    def __init__(
        self, client: KazooClient, path: str, identifier: str, deadline: float
    ):
        super().__init__(name=f"lockstep-lock {path}", daemon=True)
        self._client = client
        self._path = path
        self._identifier = identifier
        self._deadline = deadline
        self._guard = threading.Lock()
        self._kazoo_lock: _DeadlineLock | None = None
        self._abandoned = False
        self._release_requested = threading.Event()
        self.finished = threading.Event()
        self.released = threading.Event()
        self.acquired = False
        self.error: Exception | None = None

    def run(self) -> None:
        acquired = False
        error: Exception | None = None
        try:
            acquired = self._acquire()
        except Exception as exc:  # handed to the caller, who raises a lock error
            error = exc

        # kazoo's recipe sets `node` once it has created this contender's
        # node, and only `release()` clears it.
        joined = self._kazoo_lock is not None and self._kazoo_lock.node is not None
        with self._guard:
            self.acquired = acquired
            self.error = error
            abandoned = self._abandoned
            self.finished.set()

        if acquired:
            if abandoned:
                logger.debug(
                    "Releasing lock %s, acquired after its caller gave up", self._path
                )
            else:
                self._release_requested.wait()
            self._release()
        # The last contender to leave the queue deletes the lock znode,
        # whether it held the lock or gave up waiting. Otherwise a waiter that
        # times out just after the holder failed to delete the znode (because
        # the waiter was still queued) would leave it behind.
        if joined:
            self._delete_if_empty()
        self.released.set()

    def abandon(self) -> bool:
        """Stop waiting for the lock, or return False if the acquire has finished."""
        with self._guard:
            if self.finished.is_set():
                return False
            self._abandoned = True
            kazoo_lock = self._kazoo_lock
        if kazoo_lock is not None:
            kazoo_lock.cancel()
        return True

    def request_release(self) -> None:
        self._release_requested.set()

    def _acquire(self) -> bool:
        while True:
            kazoo_lock = _DeadlineLock(
                self._client, self._path, self._identifier, self._deadline
            )
            with self._guard:
                if self._abandoned:
                    return False
                self._kazoo_lock = kazoo_lock

            remaining = max(0.0, self._deadline - time.monotonic())
            try:
                return kazoo_lock.acquire(timeout=remaining)
            except NoNodeError:
                # kazoo's recipe runs ensure_path once, then creates the
                # contender node. A release in another process can delete the
                # empty lock znode in between. A new recipe object runs
                # ensure_path again.
                if time.monotonic() >= self._deadline:
                    return False
                logger.debug(
                    "Lock znode %s was deleted before joining its queue, retrying",
                    self._path,
                )

    def _release(self) -> None:
        assert self._kazoo_lock is not None
        try:
            self._kazoo_lock.release()
        except ConnectionClosedError:
            # The backend was closed, which ended the session and with it
            # every ephemeral node.
            logger.debug(
                "Lock %s released by closing its ZooKeeper session", self._path
            )
            return
        except KazooException:
            logger.exception(
                "Failed to release lock %s, so its node stays until the session ends",
                self._path,
            )
            return

    def _delete_if_empty(self) -> None:
        """Delete the lock znode unless other contenders are queued in it.

        A process that resumes after a pause finds its session expired, and
        its first requests fail. So the delete is tried DELETE_TRIES times,
        each bounded by RESPONSE_GRACE, and this thread never waits long for
        a server that is down. A znode left behind is deleted by the
        worker's sweep (ZooKeeperLockBackend.sweep).
        """
        failure: Exception | None = None
        for _ in range(DELETE_TRIES):
            try:
                self._client.delete_async(self._path).get(timeout=RESPONSE_GRACE)
                return
            except (NotEmptyError, NoNodeError, ConnectionClosedError):
                # Another contender is queued, another process deleted the
                # znode, or the backend was closed.
                return
            except (SessionExpiredError, ConnectionLoss, KazooTimeoutError) as exc:
                failure = exc
                time.sleep(DELETE_RETRY_DELAY)
            except KazooException as exc:
                failure = exc
                break
        logger.warning(
            "Failed to delete empty lock znode %s, so the sweep deletes it: %r",
            self._path,
            failure,
        )


class ZooKeeperLock(Lock):
    def __init__(self, name: str, backend: ZooKeeperLockBackend, path: str):
        super().__init__(name, backend.default_timeout)
        self._backend = backend
        self._path = path
        self._holder: _LockHolder | None = None
        self._connection: _Connection | None = None
        self._generation = 0

    @property
    def path(self) -> str:
        return self._path

    def acquire(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (the default timeout when None) for the lock.

        Return False if another holder keeps the lock past the timeout.
        Raise LockUnavailable if ZooKeeper cannot be reached or does not
        respond by `timeout + RESPONSE_GRACE` seconds.
        """
        if self._holder is not None:
            raise RuntimeError(f"Lock {self.path} is already held by this object.")
        timeout = self.default_timeout if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + timeout
        limit = deadline + RESPONSE_GRACE

        connection = self._backend._connect(limit)
        generation = connection.generation
        holder = _LockHolder(
            connection.client, self.path, self._backend.identifier, deadline
        )
        holder.start()

        if not self._wait_for_holder(holder, connection, generation, limit):
            if holder.abandon():
                raise self._unavailable_error(
                    connection, generation, timeout + RESPONSE_GRACE
                )

        if holder.acquired and connection.generation != generation:
            # The connection dropped during the acquire, so the node may
            # already be gone with the session.
            holder.request_release()
            raise self._unavailable_error(
                connection, generation, timeout + RESPONSE_GRACE
            )

        if holder.error is not None:
            if isinstance(holder.error, LockTimeout):
                return False
            raise LockUnavailable(
                f"Failed to acquire lock {self.path} on ZooKeeper at "
                f"{self._backend.hosts}: {holder.error!r}"
            ) from holder.error

        if not holder.acquired:
            # kazoo returns False when its retries of a dropped request
            # reach the deadline.
            if not connection.connected.is_set():
                raise self._unavailable_error(connection, generation, timeout)
            return False

        self._holder = holder
        self._connection = connection
        self._generation = generation
        return True

    def release(self) -> None:
        holder, self._holder = self._holder, None
        if holder is None:
            return
        holder.request_release()

        # While connected, wait so that the lock is free when release()
        # returns. Otherwise the helper thread finishes after a reconnect,
        # or the server drops the node when the session expires.
        connection = self._connection
        assert connection is not None
        if connection.connected.is_set() and connection.generation == self._generation:
            if not holder.released.wait(RESPONSE_GRACE):
                logger.warning(
                    "Release of lock %s took over %g s, so it ends in the background",
                    self.path,
                    RESPONSE_GRACE,
                )

    def check_held(self) -> None:
        if self._holder is None:
            return
        assert self._connection is not None
        if self._connection.generation != self._generation:
            raise LockLost(
                f"Lock {self.path} is lost: the ZooKeeper connection was suspended "
                f"or the session expired after the lock was acquired."
            )

    @property
    def held(self) -> bool:
        return self._holder is not None

    def _wait_for_holder(
        self,
        holder: _LockHolder,
        connection: _Connection,
        generation: int,
        limit: float,
    ) -> bool:
        """Wait for the holder's acquire to finish, or return False on a dropped
        connection or at `limit`."""
        while True:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                return False
            if holder.finished.wait(min(remaining, _STATE_POLL_INTERVAL)):
                return True
            if connection.generation != generation:
                return False

    def _unavailable_error(
        self, connection: _Connection, generation: int, waited: float
    ) -> LockUnavailable:
        hosts = self._backend.hosts
        if connection.generation != generation or not connection.connected.is_set():
            reason = "the connection to ZooKeeper was lost"
        else:
            reason = f"ZooKeeper did not respond within {waited:g} s"
        return LockUnavailable(
            f"Cannot acquire lock {self.path}: {reason} (hosts {hosts})."
        )


class ZooKeeperLockBackend(LockBackend):
    """Locks as kazoo Lock recipes under the znode `root` on ZooKeeper at `hosts`.

    `hosts` is kazoo's connection string ("host:port,host:port").
    `session_timeout` is the session timeout in seconds that the client
    requests. The server clamps it to its minSessionTimeout and
    maxSessionTimeout, which services/zookeeper/zoo.cfg sets to 4 and 40 s.
    `connect_timeout` is how long a caller waits for a missing connection
    before LockUnavailable.

    One KazooClient serves all threads of the process. It is started on
    first use and must not be shared across a fork.
    """

    def __init__(
        self,
        hosts: str = "127.0.0.1:2181",
        root: str = "/lockstep/locks",
        default_timeout: float = 5.0,
        session_timeout: float = 10.0,
        connect_timeout: float = 5.0,
    ):
        super().__init__(default_timeout)
        if not root.startswith("/") or root.endswith("/"):
            raise ValueError(
                "ZooKeeper lock root must be an absolute path without a trailing "
                f"slash, like /lockstep/locks, but got {root!r}."
            )
        self.hosts = hosts
        self.root = root
        self.session_timeout = session_timeout
        self.connect_timeout = connect_timeout
        # Stored in each contender node, where kazoo's Lock.contenders() shows it.
        self.identifier = f"{socket.gethostname()}:{os.getpid()}"
        self._guard = threading.Lock()
        self._connection: _Connection | None = None

    def lock(self, name: str) -> ZooKeeperLock:
        return ZooKeeperLock(name, self, znode_path(self.root, name))

    def ping(self) -> None:
        connection = self._connect(time.monotonic() + self.connect_timeout)
        try:
            connection.client.exists_async(self.root).get(timeout=self.connect_timeout)
        except (KazooException, KazooTimeoutError) as exc:
            raise LockUnavailable(
                f"Failed to read {self.root} from ZooKeeper at {self.hosts}: {exc!r}"
            ) from exc

    def close(self) -> None:
        """Stop the client, which ends its session and releases every lock it holds."""
        with self._guard:
            connection, self._connection = self._connection, None
        if connection is not None:
            connection.closing = True
            connection.client.stop()
            connection.client.close()

    def sweep(self, min_age: float) -> int:
        """Delete lock znodes under the root that have no contenders and were
        created at least `min_age` seconds ago.

        The last contender to leave a lock deletes its znode, but a process
        killed while queued, or one whose session expired while it was
        paused, leaves an empty znode. Deleting one is safe at any time: a
        contender that finds it gone before joining the queue creates it
        again (see `_LockHolder._acquire`).
        """
        connection = self._connect(time.monotonic() + self.connect_timeout)
        client = connection.client
        # Async calls with a timeout, because a sync call blocks for as long
        # as the connection is down, and the worker has other tasks to run.
        wait = self.connect_timeout
        try:
            try:
                names = client.get_children_async(self.root).get(timeout=wait)
            except NoNodeError:
                return 0
            # ZooKeeper stamps ctime in milliseconds of the server's clock.
            cutoff_ms = (time.time() - min_age) * 1000
            deleted = 0
            for name in names:
                path = f"{self.root}/{name}"
                stat = client.exists_async(path).get(timeout=wait)
                if stat is None or stat.numChildren or stat.ctime > cutoff_ms:
                    continue
                try:
                    client.delete_async(path).get(timeout=wait)
                except (NotEmptyError, NoNodeError):
                    continue
                deleted += 1
        except (KazooException, KazooTimeoutError) as exc:
            raise LockUnavailable(
                f"Failed to sweep {self.root} on ZooKeeper at {self.hosts}: {exc!r}"
            ) from exc
        if deleted:
            logger.info("Deleted %d empty lock znodes under %s", deleted, self.root)
        return deleted

    def _connect(self, limit: float) -> _Connection:
        """Return the connection, waiting for it until `limit` (time.monotonic()).

        A client that has been down for `connect_timeout` seconds fails at
        once, so callers do not each wait again during an outage.
        """
        connection = self._current_connection()
        down_since = connection.down_since
        if down_since is None:
            return connection

        wait = min(limit, down_since + self.connect_timeout) - time.monotonic()
        if wait > 0 and connection.connected.wait(wait):
            return connection

        down_for = time.monotonic() - down_since
        if not connection.outage_logged:
            connection.outage_logged = True
            logger.error(
                "No connection to ZooKeeper at %s for %.1f s, so lock requests "
                "fail until it is reachable again",
                self.hosts,
                down_for,
            )
        raise LockUnavailable(
            f"Cannot connect to ZooKeeper at {self.hosts}: no connection for "
            f"{down_for:.1f} s. Check that the server is running and reachable."
        )

    def _current_connection(self) -> _Connection:
        with self._guard:
            if self._connection is not None and self._connection.ended:
                logger.warning(
                    "ZooKeeper client for %s stopped reconnecting, starting a new one",
                    self.hosts,
                )
                self._connection.client.stop()
                self._connection.client.close()
                self._connection = None
            if self._connection is None:
                self._connection = self._start_connection()
            return self._connection

    def _start_connection(self) -> _Connection:
        client = KazooClient(
            hosts=self.hosts,
            timeout=self.session_timeout,
            connection_retry=dict(_RETRY_POLICY),
            command_retry=dict(_RETRY_POLICY),
        )
        connection = _Connection(client)
        client.add_listener(lambda state: self._on_state_change(connection, state))
        client.start_async()
        return connection

    def _on_state_change(self, connection: _Connection, state: KazooState) -> None:
        # Called on kazoo's connection thread, which must not block.
        if state == KazooState.CONNECTED:
            connection.down_since = None
            connection.outage_logged = False
            connection.connected.set()
            session_id = connection.client.client_id[0]
            logger.info(
                "Connected to ZooKeeper at %s, session 0x%x", self.hosts, session_id
            )
            return

        connection.generation += 1
        connection.connected.clear()
        if connection.down_since is None:
            connection.down_since = time.monotonic()
        if connection.closing:
            logger.info("Closed the ZooKeeper session at %s", self.hosts)
        elif state == KazooState.SUSPENDED:
            logger.error(
                "Connection to ZooKeeper at %s suspended, so locks held through it "
                "are treated as lost",
                self.hosts,
            )
        else:
            logger.error(
                "ZooKeeper session at %s expired or closed, so locks held through "
                "it are lost",
                self.hosts,
            )
            if connection.client.client_state in (
                KeeperState.CLOSED,
                KeeperState.AUTH_FAILED,
            ):
                connection.ended = True
