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


def body_object(request) -> dict:
    """Return the JSON body, which must be an object."""
    data = request.data
    if not isinstance(data, dict):
        raise InvalidRequest(
            f"The request body must be a JSON object, got {type(data).__name__}.",
            {"field": "body"},
        )
    return data
