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


# Deeper values are rejected: nothing in the API needs them, and encoding
# them again for storage would exhaust Python's recursion limit.
MAX_DEPTH = 64


def check_value(value, path: str = "") -> InvalidRequest | None:
    """Return an error for nesting deeper than MAX_DEPTH or an unpaired surrogate."""
    stack = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH and isinstance(item, dict | list):
            return InvalidRequest(
                f"Field {where or 'body'} is nested deeper than {MAX_DEPTH} levels.",
                {"field": where or "body", "limit": MAX_DEPTH},
            )
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                field = where or "body"
                return InvalidRequest(
                    f"Field {field} contains an unpaired surrogate, which is not "
                    "valid Unicode.",
                    {"field": field},
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                # The path ends up in the error message, which must itself be
                # valid UTF-8, so a surrogate in the key is shown escaped.
                escaped_key = key.encode("utf-8", "backslashreplace").decode("utf-8")
                child_path = f"{where}.{escaped_key}" if where else escaped_key
                stack.append((key, child_path, depth + 1))
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{where}[{i}]", depth + 1) for i, child in enumerate(item)
            )
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
        self._check_length(raw, parser_context)
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
        except RecursionError:
            raise InvalidRequest(
                f"Field body is nested deeper than {MAX_DEPTH} levels.",
                {"field": "body", "limit": MAX_DEPTH},
            ) from None
        except ValueError as exc:
            raise MalformedJson(_value_error_message(exc)) from None
        error = check_value(data)
        if error is not None:
            raise error
        return data

    @staticmethod
    def _check_length(raw: bytes, parser_context) -> None:
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and len(raw) < int(declared):
            raise MalformedJson(
                f"The request body ended after {len(raw)} of the {declared} bytes "
                "that Content-Length announced.",
                {"received": len(raw), "declared": int(declared)},
            )


def _value_error_message(exc: ValueError) -> str:
    text = str(exc)
    if "digits" in text and "int" in text:
        return "The request body has a number with too many digits."
    return f"The request body is not valid JSON: {text}."
