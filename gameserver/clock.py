"""The server's clock, the only source of times for ordering and deadlines.

Tests replace it with `set_clock` to move time forward without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system_now() -> datetime:
    return datetime.now(UTC)


_now: Callable[[], datetime] = _system_now


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return _now()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Use `clock` for `now()`; None restores the system clock."""
    global _now
    _now = clock or _system_now


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC, with a Z suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
