"""Read Lockstep's settings from environment variables and check them.

Every variable has a default that works on one machine with no services.
A bad value stops start-up with a message that names the variable, the
value received and what is expected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

STORAGE_BACKENDS = {
    "sqlite": "storage.sqlite.SQLiteStorage",
    "cassandra": "storage.cassandra.CassandraStorage",
}
LOCK_BACKENDS = {
    "local": "locking.local.FileLockBackend",
    "zookeeper": "locking.zookeeper.ZooKeeperLockBackend",
}
CONSISTENCY_LEVELS = {
    "ONE",
    "TWO",
    "THREE",
    "QUORUM",
    "ALL",
    "LOCAL_QUORUM",
    "LOCAL_ONE",
}
SERIAL_CONSISTENCY_LEVELS = {"SERIAL", "LOCAL_SERIAL"}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


def env_choice(name: str, default: str, choices) -> str:
    value = env_str(name, default)
    if value not in choices:
        expected = ", ".join(sorted(choices))
        raise ImproperlyConfigured(
            f"{name}={value!r} is not valid; set it to one of: {expected}."
        )
    return value


def env_float(name: str, default: float, low: float, high: float) -> float:
    raw = env_str(name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a number; set it to seconds between "
            f"{low:g} and {high:g}."
        ) from None
    if not low <= value <= high:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is out of range; set it between {low:g} and {high:g}."
        )
    return value


def env_int(name: str, default: int, low: int, high: int) -> int:
    raw = env_str(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a whole number; set it between {low} and {high}."
        ) from None
    if not low <= value <= high:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is out of range; set it between {low} and {high}."
        )
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name, "1" if default else "0").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not valid; set it to 1 or 0.")


RATE_UNITS = {"s": 1, "m": 60, "h": 3600}
RATE_FORMAT = re.compile(r"(\d{1,9})/(\d{0,6})([smh])")


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """Return a rate limit as (requests, window in seconds), or None when off.

    The value is `<requests>/<window>` with the window in seconds, minutes or
    hours, such as `60/10s`, `100/m` or `1000/1h`; `off` disables the limit.
    """
    raw = env_str(name, default)
    if raw.lower() == "off":
        return None
    match = RATE_FORMAT.fullmatch(raw)
    requests = int(match.group(1)) if match else 0
    window = int(match.group(2) or 1) * RATE_UNITS[match.group(3)] if match else 0
    if requests < 1 or not 1 <= window <= 86400:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not valid; set it to <requests>/<window> with at "
            "least 1 request and a window of 1 s to 24 h, such as 60/10s, 100/m "
            "or 1000/1h, or to off."
        )
    return requests, window


def storage_settings(base_dir: Path) -> tuple[str, dict]:
    """Return the storage backend's dotted path and constructor arguments."""
    choice = env_str("LOCKSTEP_STORAGE", "sqlite")
    backend = STORAGE_BACKENDS.get(choice, choice)
    if choice not in STORAGE_BACKENDS and "." not in choice:
        raise ImproperlyConfigured(
            f"LOCKSTEP_STORAGE={choice!r} is not valid; set it to sqlite, cassandra "
            "or the dotted path of a storage.base.Storage subclass."
        )
    if backend == STORAGE_BACKENDS["sqlite"]:
        options = {
            "path": env_str(
                "LOCKSTEP_SQLITE_PATH", str(base_dir / "var" / "lockstep.sqlite3")
            ),
            "busy_timeout": env_float("LOCKSTEP_SQLITE_BUSY_TIMEOUT", 5.0, 0.1, 60),
        }
    elif backend == STORAGE_BACKENDS["cassandra"]:
        options = {
            "hosts": [
                host.strip()
                for host in env_str("LOCKSTEP_CASSANDRA_HOSTS", "127.0.0.1").split(",")
                if host.strip()
            ],
            "port": env_int("LOCKSTEP_CASSANDRA_PORT", 9042, 1, 65535),
            "keyspace": env_str("LOCKSTEP_CASSANDRA_KEYSPACE", "lockstep"),
            "replication": env_str(
                "LOCKSTEP_CASSANDRA_REPLICATION",
                "{'class': 'SimpleStrategy', 'replication_factor': 1}",
            ),
            "consistency": env_choice(
                "LOCKSTEP_CASSANDRA_CONSISTENCY", "LOCAL_QUORUM", CONSISTENCY_LEVELS
            ),
            "serial_consistency": env_choice(
                "LOCKSTEP_CASSANDRA_SERIAL_CONSISTENCY",
                "LOCAL_SERIAL",
                SERIAL_CONSISTENCY_LEVELS,
            ),
            "connect_timeout": env_float(
                "LOCKSTEP_CASSANDRA_CONNECT_TIMEOUT", 5.0, 0.1, 60
            ),
            "request_timeout": env_float(
                "LOCKSTEP_CASSANDRA_REQUEST_TIMEOUT", 5.0, 0.1, 60
            ),
        }
        if not options["keyspace"].replace("_", "").isalnum():
            raise ImproperlyConfigured(
                f"LOCKSTEP_CASSANDRA_KEYSPACE={options['keyspace']!r} is not valid; "
                "use letters, digits and underscores."
            )
    else:
        options = {}
    return backend, options


def lock_settings(base_dir: Path) -> tuple[str, dict]:
    """Return the lock backend's dotted path and constructor arguments."""
    choice = env_str("LOCKSTEP_LOCKS", "local")
    backend = LOCK_BACKENDS.get(choice, choice)
    if choice not in LOCK_BACKENDS and "." not in choice:
        raise ImproperlyConfigured(
            f"LOCKSTEP_LOCKS={choice!r} is not valid; set it to local, zookeeper "
            "or the dotted path of a locking.base.LockBackend subclass."
        )
    timeout = env_float("LOCKSTEP_LOCK_TIMEOUT", 5.0, 0.05, 25)
    if backend == LOCK_BACKENDS["local"]:
        options = {
            "directory": env_str("LOCKSTEP_LOCK_DIR", str(base_dir / "var" / "locks")),
            "default_timeout": timeout,
        }
    elif backend == LOCK_BACKENDS["zookeeper"]:
        root = env_str("LOCKSTEP_ZOOKEEPER_ROOT", "/lockstep/locks")
        if not root.startswith("/") or root.endswith("/"):
            raise ImproperlyConfigured(
                f"LOCKSTEP_ZOOKEEPER_ROOT={root!r} is not valid; use an absolute "
                "znode path such as /lockstep/locks, with no trailing slash."
            )
        options = {
            "hosts": env_str("LOCKSTEP_ZOOKEEPER_HOSTS", "127.0.0.1:2181"),
            "root": root,
            "default_timeout": timeout,
            "session_timeout": env_float(
                "LOCKSTEP_ZOOKEEPER_SESSION_TIMEOUT", 10.0, 4, 40
            ),
            "connect_timeout": env_float(
                "LOCKSTEP_ZOOKEEPER_CONNECT_TIMEOUT", 5.0, 0.1, 60
            ),
        }
    else:
        options = {"default_timeout": timeout}
    return backend, options
