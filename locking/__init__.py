"""Locking layer: `Lock(name)` over a file-lock or a ZooKeeper backend.

    from locking import Lock

    with Lock("game/<id>"):   # raises LockTimeout after the default wait
        ...

The backend comes from the `LOCKSTEP_LOCKS` setting and is built lazily in
each process, after gunicorn forks, because a ZooKeeper session must not be
shared across a fork.
"""

from __future__ import annotations

import os
import threading
import time

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Lock as LockBase
from .base import LockBackend, LockError, LockLost, LockTimeout, LockUnavailable

__all__ = [
    "Lock",
    "LockBackend",
    "LockError",
    "LockLost",
    "LockTimeout",
    "LockUnavailable",
    "get_lock_backend",
    "reset_lock_backend",
    "sweep_idle_locks",
]

_guard = threading.Lock()
_instance: LockBackend | None = None
_instance_pid: int | None = None


def get_lock_backend() -> LockBackend:
    """Return this process's lock backend, creating it on first use."""
    global _instance, _instance_pid
    if _instance is not None and _instance_pid == os.getpid():
        return _instance
    with _guard:
        if _instance is None or _instance_pid != os.getpid():
            backend_class = import_string(settings.LOCKSTEP_LOCK_BACKEND)
            _instance = backend_class(**settings.LOCKSTEP_LOCK_OPTIONS)
            _instance_pid = os.getpid()
    return _instance


def reset_lock_backend() -> None:
    """Close and forget this process's backend; the next call builds a new one."""
    global _instance, _instance_pid
    with _guard:
        if _instance is not None and _instance_pid == os.getpid():
            _instance.close()
        _instance = None
        _instance_pid = None


def Lock(name: str) -> LockBase:  # noqa: N802 - reads like the class it returns
    """Return a new lock for `name` from the configured backend."""
    return get_lock_backend().lock(name)


_last_sweep: float | None = None


def sweep_idle_locks() -> int:
    """Worker task: delete what crashed lock holders left behind.

    It runs every LOCKSTEP_LOCK_SWEEP_SECONDS and deletes leftovers at least
    that old. It returns 0 even after deleting, so the worker still sleeps
    between rounds.
    """
    global _last_sweep
    period = settings.LOCKSTEP_LOCK_SWEEP_SECONDS
    now = time.monotonic()
    if _last_sweep is not None and now - _last_sweep < period:
        return 0
    _last_sweep = now
    get_lock_backend().sweep(period)
    return 0
