"""Rock, paper, scissors for two players, best of an odd number of rounds.

State::

    {"rounds": 3, "round": 1, "score": {"<pid>": 0, "<pid>": 0},
     "players": ["<pid>", "<pid>"]}

`round` is the number of the round being played, starting at 1. A tied round
is replayed under the same number, so `round` counts decided rounds plus one.
The game ends as soon as one player has won a majority of `rounds`.

Events of a resolved turn, in this order:

- `{"type": "round", "round": k, "throws": {"<pid>": "rock" | null, ...},
  "winner": "<pid>", "score": {...}}` for a decided round;
- `{"type": "tie", "round": k, "throws": {...}}` for a tied round, which is
  replayed;
- `{"type": "game_over", "winner": "<pid>" | null, "score": {...}}` when the
  game ends.

A null throw is a missed move.
"""

from __future__ import annotations

from games.rules.base import JSON, InvalidMove, InvalidOptions, Resolution, Ruleset
from games.rules.common import (
    check_option_keys,
    describe_value,
    outcome_after_leave,
    read_int_option,
)

THROWS = ("rock", "paper", "scissors")

# Each throw mapped to the throw it beats.
BEATS = {"rock": "scissors", "paper": "rock", "scissors": "paper"}

DEFAULT_ROUNDS = 3
MAX_ROUNDS = 99


class RockPaperScissorsRuleset(Ruleset):
    """Two players throw at once, and a majority of won rounds takes the game."""

    name = "rps"
    min_seats = 2
    max_seats = 2

    def check_options(self, options: dict[str, JSON]) -> dict[str, JSON]:
        check_option_keys(options, frozenset({"rounds"}))
        rounds = read_int_option(
            options, "rounds", default=DEFAULT_ROUNDS, minimum=1, maximum=MAX_ROUNDS
        )
        if rounds % 2 == 0:
            raise InvalidOptions(
                "rounds",
                'The "rounds" option must be odd so that one player can win a '
                f"majority, got {rounds}.",
            )
        return {"rounds": rounds}

    def initial_state(self, options: dict[str, JSON], player_ids: list[str]) -> JSON:
        self.check_seats(len(player_ids))
        return {
            "rounds": options["rounds"],
            "round": 1,
            "score": {pid: 0 for pid in player_ids},
            "players": list(player_ids),
        }

    def check_move(self, state: JSON, player_id: str, move: JSON) -> None:
        if player_id not in state["players"]:
            raise InvalidMove(f"Player {player_id} is not seated in this game.")

        if (
            not isinstance(move, dict)
            or set(move) != {"throw"}
            or move["throw"] not in THROWS
        ):
            raise InvalidMove(
                'A move must be {"throw": T} with T one of "rock", "paper" or '
                f'"scissors", but got {describe_value(move)}.',
                {"field": "throw", "allowed": list(THROWS)},
            )

    def resolve(self, state: JSON, moves: dict[str, JSON], *, turn: int) -> Resolution:
        # A player absent from `moves` has left, which decides the game at once.
        if len(moves) < 2:
            return self._end_after_leave(state, list(moves))

        players = state["players"]
        throws = {pid: _throw_of(moves[pid]) for pid in players}
        winner = _round_winner(players, throws)
        round_number = state["round"]

        if winner is None:
            tie = {"type": "tie", "round": round_number, "throws": throws}
            return Resolution(state=state, events=[tie])

        score = dict(state["score"])
        score[winner] += 1
        new_state = {**state, "score": score, "round": round_number + 1}
        events = [
            {
                "type": "round",
                "round": round_number,
                "throws": throws,
                "winner": winner,
                "score": dict(score),
            }
        ]

        if score[winner] <= state["rounds"] // 2:
            return Resolution(state=new_state, events=events)

        events.append({"type": "game_over", "winner": winner, "score": dict(score)})
        outcome = {pid: "won" if pid == winner else "lost" for pid in players}
        return Resolution(state=new_state, events=events, outcome=outcome)

    def decide_after_leave(self, state: JSON, active: list[str]) -> Resolution | None:
        if len(active) >= 2:
            return None
        return self._end_after_leave(state, active)

    def missed_move_meaning(self) -> str:
        return (
            "A missed move loses the round to a player who threw, and a round "
            "that both players miss is a tie and is replayed."
        )

    def _end_after_leave(self, state: JSON, active: list[str]) -> Resolution:
        outcome = outcome_after_leave(state["players"], active)
        winner = active[0] if active else None
        event = {"type": "game_over", "winner": winner, "score": dict(state["score"])}
        return Resolution(state=state, events=[event], outcome=outcome)


def _throw_of(move: JSON) -> str | None:
    """Return the throw of a checked move, or None for a missed move."""
    if move is None:
        return None
    return move["throw"]


def _round_winner(players: list[str], throws: dict[str, str | None]) -> str | None:
    """Return the player who wins the round, or None for a tie.

    A throw beats a missed move, and two missed moves tie.
    """
    first, second = players
    first_throw = throws[first]
    second_throw = throws[second]

    if first_throw == second_throw:
        return None
    if second_throw is None or (
        first_throw is not None and BEATS[first_throw] == second_throw
    ):
        return first
    return second
