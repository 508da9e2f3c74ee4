"""A strict JSON body parser.

It rejects what Python's json module would let through: NaN and Infinity,
numbers too long to convert, nesting deep enough to exhaust the stack,
bytes that are not UTF-8, and strings holding unpaired surrogates (which
JSON's \\u escapes can encode but UTF-8 cannot store).
"""

from __future__ import annotations

import json
import math

from django.conf import settings
from rest_framework.parsers import BaseParser

from .errors import InvalidRequest, MalformedJson, PayloadTooLarge


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is too large for a 64-bit float")
    return value


def find_unpaired_surrogate(value, path: str = "") -> str | None:
    """Return the path of the first string holding an unpaired surrogate, or None."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                # The path ends up in the error message, which must itself be
                # valid UTF-8, so a surrogate in the key is shown escaped.
                escaped_key = key.encode("utf-8", "backslashreplace").decode("utf-8")
                child_path = f"{where}.{escaped_key}" if where else escaped_key
                stack.append((key, child_path))
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return None


class StrictJSONParser(BaseParser):
    """Parse any request body as JSON, whatever its Content-Type says."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.LOCKSTEP_MAX_BODY_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(
                f"The request body is larger than {limit} bytes.", {"limit": limit}
            )
        if not raw.strip():
            return {}
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJson(
                f"The request body is not valid UTF-8 (byte {exc.start}).",
                {"position": exc.start},
            ) from None
        try:
            data = json.loads(
                text, parse_constant=_reject_constant, parse_float=_finite_float
            )
        except json.JSONDecodeError as exc:
            raise MalformedJson(
                f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno}.",
                {"line": exc.lineno, "column": exc.colno},
            ) from None
        except (ValueError, RecursionError) as exc:
            raise MalformedJson(f"The request body is not valid JSON: {exc}.") from None
        bad_path = find_unpaired_surrogate(data)
        if bad_path is not None:
            raise InvalidRequest(
                f"Field {bad_path} contains an unpaired surrogate, which is not valid "
                "Unicode.",
                {"field": bad_path},
            )
        return data
