"""One log line per event in logfmt: `key=value` pairs, values quoted when needed.

Every line starts with `time`, `level` and `logger`, then `msg` with the
formatted message. A record logged with `extra={"fields": {...}}` adds those
pairs after `msg`, which is how the request log line carries its route,
status, duration and ids as separate keys. A traceback goes into one
quoted `exc` value, so an event never spans several lines.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

# Values made of these characters only are written without quotes.
BARE_VALUE = re.compile(r"[A-Za-z0-9_.:/<>@+\-]+")


def logfmt_value(value) -> str:
    """Format one value: bare when it is safe, else double-quoted with escapes."""
    text = "-" if value is None else str(value)
    if BARE_VALUE.fullmatch(text):
        return text
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """Format records as one logfmt line each; times are UTC with milliseconds."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        pairs = [
            ("time", moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")),
            ("level", record.levelname),
            ("logger", record.name),
            ("msg", record.getMessage()),
        ]
        pairs.extend(getattr(record, "fields", {}).items())
        if record.exc_info:
            pairs.append(("exc", self.formatException(record.exc_info)))
        elif record.exc_text:
            pairs.append(("exc", record.exc_text))
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs)
