"""Lockstep: the clients run the game, and the server only seals and reveals moves.

A move is any JSON value up to MAX_MOVE_BYTES, and the ruleset does not read
it except to spot a final move::

    {"final": true, "result": {"<pid>": "won" | "lost" | "draw", ...}}

The game ends when every active player's move for a turn is final. The
outcome is the shared result when all the results are equal and map exactly
the game's players to "won", "lost" or "draw", with player ids compared in
lowercase. Otherwise every player gets "draw". When `max_turns` is above 0
and turn `max_turns` resolves without ending the game that way, every
player gets "draw".

State: `{"max_turns": N, "players": ["<pid>", ...]}`. The services keep the
moves in the turn records, so the state never changes.

Events, only on the turn that ends the game:

- `{"type": "agreement", "result": {...}}` when the final moves agree;
- `{"type": "disagreement", "reason": "results_differ" | "invalid_result",
  "results": {"<pid>": result, ...}}` when they do not;
- `{"type": "max_turns", "turn": n, "max_turns": N}` for the turn limit.

A game that ends because players left gets no event.
"""

from __future__ import annotations

import json

from games.rules.base import JSON, InvalidMove, Resolution, Ruleset
from games.rules.common import check_option_keys, outcome_after_leave, read_int_option

# Maximum move size, in bytes of compact UTF-8 JSON.
MAX_MOVE_BYTES = 16 * 1024

MAX_TURNS_LIMIT = 1_000_000
RESULT_VALUES = frozenset({"won", "lost", "draw"})


class LockstepRuleset(Ruleset):
    """Uninterpreted moves for clients that run the game logic themselves."""

    name = "lockstep"
    min_seats = 2
    max_seats = 16

    def check_options(self, options: dict[str, JSON]) -> dict[str, JSON]:
        check_option_keys(options, frozenset({"max_turns"}))
        max_turns = read_int_option(
            options, "max_turns", default=0, minimum=0, maximum=MAX_TURNS_LIMIT
        )
        return {"max_turns": max_turns}

    def initial_state(self, options: dict[str, JSON], player_ids: list[str]) -> JSON:
        self.check_seats(len(player_ids))
        return {"max_turns": options["max_turns"], "players": list(player_ids)}

    def check_move(self, state: JSON, player_id: str, move: JSON) -> None:
        if player_id not in state["players"]:
            raise InvalidMove(f"Player {player_id} is not seated in this game.")

        size = encoded_size(move)
        if size > MAX_MOVE_BYTES:
            raise InvalidMove(
                f"The move is {size} bytes as compact UTF-8 JSON, over the limit "
                f"of {MAX_MOVE_BYTES} bytes.",
                {"field": "move", "size": size, "limit": MAX_MOVE_BYTES},
            )

    def resolve(self, state: JSON, moves: dict[str, JSON], *, turn: int) -> Resolution:
        players = state["players"]

        # A player absent from `moves` has left, which decides the game when
        # fewer than two remain.
        leave_outcome = outcome_after_leave(players, list(moves))
        if leave_outcome is not None:
            return Resolution(state=state, outcome=leave_outcome)

        if all(_is_final(move) for move in moves.values()):
            return _end_by_final_moves(state, moves)

        max_turns = state["max_turns"]
        if max_turns > 0 and turn >= max_turns:
            event = {"type": "max_turns", "turn": turn, "max_turns": max_turns}
            outcome = {pid: "draw" for pid in players}
            return Resolution(state=state, events=[event], outcome=outcome)

        return Resolution(state=state)

    def decide_after_leave(self, state: JSON, active: list[str]) -> Resolution | None:
        outcome = outcome_after_leave(state["players"], active)
        if outcome is None:
            return None
        return Resolution(state=state, outcome=outcome)

    def missed_move_meaning(self) -> str:
        return (
            "A missed move is passed to the other players as null and is never "
            "a final move, so it keeps the game going."
        )


def encoded_size(move: JSON) -> int:
    """Return the size of `move` in bytes as compact UTF-8 JSON.

    Raise InvalidMove when `move` is not a JSON value: NaN or infinite
    numbers, strings with unpaired surrogates, or non-JSON Python types.
    """
    try:
        text = json.dumps(
            move, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return len(text.encode("utf-8"))
    except (TypeError, ValueError) as error:
        # UnicodeEncodeError, raised for an unpaired surrogate, is a ValueError.
        raise InvalidMove(
            f"The move is not a valid JSON value ({error}). Send finite numbers "
            "and strings of valid Unicode.",
            {"field": "move"},
        ) from error


def _is_final(move: JSON) -> bool:
    return (
        isinstance(move, dict)
        and move.get("final") is True
        and isinstance(move.get("result"), dict)
    )


def _end_by_final_moves(state: JSON, moves: dict[str, JSON]) -> Resolution:
    """End the game on a turn where every move is final."""
    players = state["players"]
    results = {pid: move["result"] for pid, move in moves.items()}
    # Results are compared with their player ids in lowercase, the case of
    # stored ids, because iOS's UUID().uuidString is uppercase.
    lowercase_results = [_lowercase_ids(result) for result in results.values()]
    first = lowercase_results[0]

    if any(result != first for result in lowercase_results):
        reason = "results_differ"
    elif (
        first is None
        or set(first) != set(players)
        or not all(
            isinstance(value, str) and value in RESULT_VALUES
            for value in first.values()
        )
    ):
        reason = "invalid_result"
    else:
        event = {"type": "agreement", "result": first}
        outcome = {pid: first[pid] for pid in players}
        return Resolution(state=state, events=[event], outcome=outcome)

    event = {"type": "disagreement", "reason": reason, "results": results}
    outcome = {pid: "draw" for pid in players}
    return Resolution(state=state, events=[event], outcome=outcome)


def _lowercase_ids(result: dict) -> dict | None:
    """Return `result` with its player ids in lowercase.

    Return None when two ids differ only in case, because such a result
    names one player twice.
    """
    lowered = {player_id.lower(): value for player_id, value in result.items()}
    return lowered if len(lowered) == len(result) else None
