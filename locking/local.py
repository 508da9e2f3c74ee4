"""Local lock backend: fcntl file locks that serialise processes on one host.

Each lock name maps to one file under a folder. `flock` locks belong to an
open file description, so two opens of the same file exclude each other
whether they come from two processes or two threads of one process. The
kernel drops the lock when the holder's process dies, so a crashed worker
never leaves a game locked.

The files themselves stay in the folder (one small empty file per game):
deleting a lock file while another process waits on it would let two
holders lock two different files of the same name.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from .base import Lock, LockBackend, LockUnavailable


class FileLock(Lock):
    def __init__(
        self,
        name: str,
        file_path: Path,
        default_timeout: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__(name, default_timeout)
        self._file_path = file_path
        self._fd: int | None = None
        self._clock = clock
        self._sleep = sleep

    @property
    def path(self) -> str:
        return str(self._file_path)

    def acquire(self, timeout: float | None = None) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"Lock {self.path} is already held by this object.")
        timeout = self.default_timeout if timeout is None else timeout
        try:
            fd = os.open(self._file_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LockUnavailable(f"Cannot open lock file {self.path}: {exc}") from exc
        deadline = self._clock() + timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise LockUnavailable(f"Cannot lock {self.path}: {exc}") from exc
            else:
                self._fd = fd
                return True
            remaining = deadline - self._clock()
            if remaining <= 0:
                os.close(fd)
                return False
            # Polling with a short, growing pause: flock has no timed wait.
            self._sleep(min(pause, remaining))
            pause = min(pause * 2, 0.02)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            # Closing the descriptor releases the flock.
            os.close(fd)

    def check_held(self) -> None:
        # A flock cannot be lost while the descriptor stays open; a forced
        # release from outside is caught by the fenced write instead.
        return None

    @property
    def held(self) -> bool:
        return self._fd is not None


class FileLockBackend(LockBackend):
    """Locks as files under `directory`, created if missing."""

    def __init__(self, directory: str, default_timeout: float = 5.0):
        super().__init__(default_timeout)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def lock(self, name: str) -> FileLock:
        # Hash the name so any string maps to a safe, fixed-length file name.
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
        return FileLock(name, self.directory / f"{digest}.lock", self.default_timeout)

    def ping(self) -> None:
        if not os.access(self.directory, os.W_OK):
            raise LockUnavailable(f"Lock folder {self.directory} is not writable.")
