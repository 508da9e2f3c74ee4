"""Storage layer: one interface, with a SQLite and a Cassandra backend.

`get_storage()` returns this process's backend, built on first use from the
`LOCKSTEP_STORAGE` setting. It is created lazily, after gunicorn forks its
workers, because a database connection must not be shared across a fork.
"""

from __future__ import annotations

import os
import threading

from django.conf import settings
from django.utils.module_loading import import_string

from .base import Storage, StorageError, StorageUnavailable, WriteConflict
from .records import (
    ChatLine,
    DueEntry,
    GameRecord,
    MoveRecord,
    PlayerRecord,
    TurnRecord,
)

__all__ = [
    "ChatLine",
    "DueEntry",
    "GameRecord",
    "MoveRecord",
    "PlayerRecord",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "TurnRecord",
    "WriteConflict",
    "get_storage",
    "reset_storage",
]

_lock = threading.Lock()
_instance: Storage | None = None
_instance_pid: int | None = None


def get_storage() -> Storage:
    """Return the storage backend of this process, creating it on first use."""
    global _instance, _instance_pid
    if _instance is not None and _instance_pid == os.getpid():
        return _instance
    with _lock:
        if _instance is None or _instance_pid != os.getpid():
            backend_class = import_string(settings.LOCKSTEP_STORAGE_BACKEND)
            _instance = backend_class(**settings.LOCKSTEP_STORAGE_OPTIONS)
            _instance_pid = os.getpid()
    return _instance


def reset_storage() -> None:
    """Close and forget this process's backend; the next call builds a new one."""
    global _instance, _instance_pid
    with _lock:
        if _instance is not None and _instance_pid == os.getpid():
            _instance.close()
        _instance = None
        _instance_pid = None
