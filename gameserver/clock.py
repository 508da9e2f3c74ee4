"""The server's clock, the only source of times for ordering and deadlines.

Tests replace it with `set_clock` to move time forward without sleeping.

Tests of a server in another process move its clock through a file instead:
with LOCKSTEP_CLOCK_OFFSET_FILE set, `now()` adds the number of seconds
written in that file (none while it is missing or empty) to the system
time. It is for tests only: never set it in production.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

logger = logging.getLogger(__name__)


def _system_now() -> datetime:
    return datetime.now(UTC)


def offset_clock(path: str) -> Callable[[], datetime]:
    """Return a clock that runs ahead of the system's by the seconds in `path`.

    The file is read on every call, so a test can move time while the
    server runs. A missing or empty file means no offset, and text that is
    not a number raises ValueError.
    """
    offset_file = Path(path)

    def now() -> datetime:
        try:
            text = offset_file.read_text().strip()
        except FileNotFoundError:
            text = ""
        seconds = float(text) if text else 0.0
        return datetime.now(UTC) + timedelta(seconds=seconds)

    return now


_offset_path = os.environ.get("LOCKSTEP_CLOCK_OFFSET_FILE", "").strip()
if _offset_path:
    logger.warning(
        "LOCKSTEP_CLOCK_OFFSET_FILE is set: the clock adds the seconds in %s "
        "(a test hook, never for production)",
        _offset_path,
    )
    _now: Callable[[], datetime] = offset_clock(_offset_path)
else:
    _now = _system_now


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
