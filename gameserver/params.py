"""Parsing of query parameters and request bodies shared by the views."""

from __future__ import annotations

from gameserver.errors import InvalidRequest


def int_param(
    request, name: str, default: int | None, low: int, high: int
) -> int | None:
    """Return query parameter `name` as an int in [low, high], or `default` when absent.

    An empty value (`?limit=`) is rejected like any other value that is not a
    number, rather than read as absent.
    """
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise InvalidRequest(
            f"Query parameter {name} must be a whole number from {low} to {high}, "
            f"got {raw[:40]!r}.",
            {"field": name},
        )
    value = int(raw)
    if not low <= value <= high:
        raise InvalidRequest(
            f"Query parameter {name} must be from {low} to {high}, got {value}.",
            {"field": name},
        )
    return value


JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    type(None): "null",
}


def json_type(value) -> str:
    """Name the JSON type of a parsed value, for error messages."""
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def body_object(request) -> dict:
    """Return the JSON body, which must be an object."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidRequest(
            f"The request body must be a JSON object, got {json_type(data)}.",
            {"field": "body"},
        )
    return data


MAX_WAIT_SECONDS = 30


def wait_param(request) -> float:
    """Return the `wait` query parameter in seconds, 0 to 30, or 0 when absent.

    Whole or decimal seconds are accepted, such as `wait=20` or `wait=2.5`.
    """
    raw = request.query_params.get("wait")
    if raw is None:
        return 0.0
    whole, _, fraction = raw.partition(".")
    valid = (
        raw.isascii()
        and whole.isdigit()
        and len(whole) <= 2
        and (fraction == "" or (fraction.isdigit() and len(fraction) <= 3))
        and not raw.endswith(".")
    )
    if not valid or float(raw) > MAX_WAIT_SECONDS:
        raise InvalidRequest(
            f"Query parameter wait must be a number of seconds from 0 to "
            f"{MAX_WAIT_SECONDS}, got {raw[:40]!r}.",
            {"field": "wait"},
        )
    return float(raw)
