"""Checks of the game options that every ruleset accepts besides its own."""

from __future__ import annotations

from gameserver.errors import InvalidRequest
from gameserver.params import json_type

from .rules import InvalidOptions, Ruleset
from .rules.base import COMMON_OPTIONS

TURN_SECONDS_MIN = 10
TURN_SECONDS_MAX = 2_592_000
TURN_SECONDS_DEFAULT = 604_800
ON_TIMEOUT_CHOICES = ("skip", "forfeit")
MAX_MISSED_MIN = 1
MAX_MISSED_MAX = 1000
MAX_MISSED_DEFAULT = 3


def _whole_number(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOptions(
            name, f"Option {name} must be a whole number, got {value!r}."
        )
    if not low <= value <= high:
        raise InvalidOptions(
            name, f"Option {name} must be from {low} to {high}, got {value}."
        )
    return value


def check_common_options(options: dict) -> dict:
    """Return the common options with defaults filled, or raise InvalidOptions."""
    turn_seconds = _whole_number(
        "turn_seconds",
        options.get("turn_seconds", TURN_SECONDS_DEFAULT),
        TURN_SECONDS_MIN,
        TURN_SECONDS_MAX,
    )
    on_timeout = options.get("on_timeout", "skip")
    if on_timeout not in ON_TIMEOUT_CHOICES:
        raise InvalidOptions(
            "on_timeout",
            f"Option on_timeout must be 'skip' or 'forfeit', got {on_timeout!r}.",
        )
    max_missed = _whole_number(
        "max_missed",
        options.get("max_missed", MAX_MISSED_DEFAULT),
        MAX_MISSED_MIN,
        MAX_MISSED_MAX,
    )
    return {
        "turn_seconds": turn_seconds,
        "on_timeout": on_timeout,
        "max_missed": max_missed,
    }


def check_options(rules: Ruleset, seats, options) -> tuple[int, dict]:
    """Validate seats and options for `rules`; return seats and the full options.

    Raises InvalidRequest whose details name the offending field, for
    example `options.rounds`.
    """
    if seats is None:
        seats = rules.min_seats
    if isinstance(seats, bool) or not isinstance(seats, int):
        raise InvalidRequest(
            f"Field seats must be a whole number, got {seats!r}.", {"field": "seats"}
        )
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InvalidRequest(
            f"Field options must be an object, got {json_type(options)}.",
            {"field": "options"},
        )
    try:
        rules.check_seats(seats)
    except InvalidOptions as exc:
        raise InvalidRequest(exc.message, {"field": "seats"}) from None
    own = {key: value for key, value in options.items() if key not in COMMON_OPTIONS}
    try:
        full = check_common_options(options)
        full.update(rules.check_options(own))
    except InvalidOptions as exc:
        raise InvalidRequest(exc.message, {"field": f"options.{exc.field}"}) from None
    return seats, full


def ruleset_options(options: dict) -> dict:
    """Return only the ruleset's own options, as its functions expect them."""
    return {key: value for key, value in options.items() if key not in COMMON_OPTIONS}
