"""Helpers shared by the rulesets: option checks, move descriptions, outcomes."""

from __future__ import annotations

import json

from games.rules.base import JSON, InvalidOptions

# Maximum length, in characters, of a received value quoted in an error message.
MAX_QUOTED_CHARS = 80


def check_option_keys(options: JSON, known: frozenset[str]) -> None:
    """Raise InvalidOptions unless `options` is a dict whose keys are all in `known`."""
    if not isinstance(options, dict):
        raise InvalidOptions(
            "options", f"Options must be a JSON object, got {describe_value(options)}."
        )

    for key in options:
        if key not in known:
            allowed = ", ".join(f'"{name}"' for name in sorted(known)) or "none"
            raise InvalidOptions(
                key,
                f'Unknown option "{key}". This ruleset\'s own options: {allowed}; '
                "every ruleset also takes turn_seconds, on_timeout and max_missed.",
            )


def read_int_option(
    options: dict[str, JSON], key: str, *, default: int, minimum: int, maximum: int
) -> int:
    """Return the integer option `key`, or `default` when it is absent.

    Raise InvalidOptions when the value is not an integer (JSON true and false
    are rejected even though Python counts bool as int) or lies outside
    `minimum`..`maximum`.
    """
    if key not in options:
        return default

    value = options[key]
    if type(value) is not int or not minimum <= value <= maximum:
        raise InvalidOptions(
            key,
            f'The "{key}" option must be an integer from {minimum} to {maximum}, '
            f"got {describe_value(value)}.",
        )
    return value


def describe_value(value: JSON) -> str:
    """Return `value` as compact JSON for an error message, cut to MAX_QUOTED_CHARS."""
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)

    if len(text) > MAX_QUOTED_CHARS:
        text = text[: MAX_QUOTED_CHARS - 3] + "..."
    return text


def outcome_after_leave(players: list[str], active: list[str]) -> dict[str, str] | None:
    """Return the outcome when only `active` of `players` remain, or None to play on.

    One player left wins and everyone else loses. With no player left, every
    player gets "draw".
    """
    if len(active) == 1:
        winner = active[0]
        return {pid: "won" if pid == winner else "lost" for pid in players}
    if not active:
        return {pid: "draw" for pid in players}
    return None
