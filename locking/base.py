"""The lock interface: one mutual-exclusion lock per name, across processes.

Services take a game's lock around every read-modify-write of that game.
A lock is a safety aid, not a guarantee: a holder can lose it without
noticing (a process paused past its ZooKeeper session, an operator
removing a lock file). That is why every commit is also fenced by a
conditional write on the game's version, and why `check_held()` is called
just before committing, to give up early when loss is already known.

Failure advice: a `LockTimeout` means another holder kept the lock longer
than the wait allowed, which is normal under contention and maps to
`503 unavailable` with Retry-After. A `LockUnavailable` means the lock
service itself cannot be reached.
"""

from __future__ import annotations

from abc import ABC, abstractmethod


class LockError(Exception):
    """Base class for lock failures."""


class LockTimeout(LockError):
    """The lock was not acquired within the allowed wait."""

    def __init__(self, path: str, seconds: float):
        super().__init__(f"Timed out after {seconds:g} s waiting for lock {path}.")
        self.path = path
        self.seconds = seconds


class LockUnavailable(LockError):
    """The lock service cannot be reached."""


class LockLost(LockError):
    """The lock was held but is known to be lost, so the change must be abandoned."""


class Lock(ABC):
    """A named lock, usable once as a context manager or by acquire/release.

    `with lock:` acquires with the backend's default timeout and raises
    LockTimeout when that passes. `acquire(timeout=...)` returns whether the
    lock was taken. `release()` may be called any number of times.
    """

    def __init__(self, name: str, default_timeout: float):
        self.name = name
        self.default_timeout = default_timeout

    @property
    @abstractmethod
    def path(self) -> str:
        """The backend's address of this lock, for messages and logs."""

    @abstractmethod
    def acquire(self, timeout: float | None = None) -> bool:
        """Wait up to `timeout` seconds (the default timeout when None) for the lock.

        Return True when the lock is held, False when the wait ran out.
        Raise LockUnavailable when the lock service cannot be reached.
        """

    @abstractmethod
    def release(self) -> None:
        """Release the lock if held; calling it again does nothing."""

    @abstractmethod
    def check_held(self) -> None:
        """Raise LockLost if the lock is known to be lost since acquire."""

    def __enter__(self) -> Lock:
        if not self.acquire(self.default_timeout):
            raise LockTimeout(self.path, self.default_timeout)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.release()


class LockBackend(ABC):
    """Creates locks that exclude each other across every process using the backend."""

    def __init__(self, default_timeout: float = 5.0):
        self.default_timeout = default_timeout

    @abstractmethod
    def lock(self, name: str) -> Lock:
        """Return a new, unacquired lock for `name`."""

    @abstractmethod
    def ping(self) -> None:
        """Raise LockUnavailable if the lock service does not answer."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Release connections held by this backend."""

    def sweep(self, min_age: float) -> int:
        """Delete leftovers of locks that no process has used for `min_age` seconds.

        Return how many items were deleted. The default deletes nothing. The
        worker calls this periodically.
        """
        return 0
