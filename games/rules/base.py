"""The ruleset interface: the game logic of one kind of game, as pure functions.

A ruleset never does I/O, never reads the clock and never keeps state between
calls. Everything it needs arrives as arguments, and everything it decides is
returned, so the same inputs always give the same result and the services can
call it inside a game lock, retry it, or replay it in tests.

States, moves, options and events are plain JSON values (dicts, lists, str,
int, float, bool, None) because the storage layer saves them as JSON.

To add a ruleset, write one module in this package with a subclass of
`Ruleset` and register an instance of it in `games.rules.registry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

JSON = Any

# Options that every ruleset accepts besides its own; the services check them.
COMMON_OPTIONS = frozenset({"turn_seconds", "on_timeout", "max_missed"})


class InvalidOptions(ValueError):
    """Raised by `Ruleset.check_options` for an unknown or out-of-range option."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


class InvalidMove(ValueError):
    """Raised by `Ruleset.check_move` with a sentence that names the problem."""

    def __init__(self, reason: str, details: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.details = details or {}


@dataclass
class Resolution:
    """What a ruleset decides when a turn resolves.

    `state` is the new state. `events` is a list of JSON objects describing
    what happened, shown in the resolved turn. `out` lists the players who
    leave play this turn (a crashed cycle, for example); the services set
    their status to `out`. `outcome` stays None while the game goes on; when
    the turn ends the game it maps every player id seen in the game to
    "won", "lost" or "draw" (the services replace it with "resigned" for
    players who resigned).
    """

    state: JSON
    events: list[JSON] = field(default_factory=list)
    out: list[str] = field(default_factory=list)
    outcome: dict[str, str] | None = None


class Ruleset(ABC):
    """One kind of game. Subclasses set `name`, `min_seats` and `max_seats`."""

    name: str
    min_seats: int
    max_seats: int

    def check_seats(self, seats: int) -> None:
        """Raise InvalidOptions unless `seats` is allowed for this ruleset."""
        if not self.min_seats <= seats <= self.max_seats:
            if self.min_seats == self.max_seats:
                allowed = f"exactly {self.min_seats}"
            else:
                allowed = f"{self.min_seats} to {self.max_seats}"
            raise InvalidOptions(
                "seats", f"The {self.name} ruleset needs {allowed} seats, got {seats}."
            )

    @abstractmethod
    def check_options(self, options: dict[str, JSON]) -> dict[str, JSON]:
        """Validate this ruleset's own options and return them with defaults filled.

        `options` holds only the ruleset's own keys (the common options in
        COMMON_OPTIONS are removed beforehand). Raise InvalidOptions naming
        the offending key for an unknown key, a wrong type or a value out of
        range.
        """

    @abstractmethod
    def initial_state(self, options: dict[str, JSON], player_ids: list[str]) -> JSON:
        """Return the state at turn 1, with players in seat order."""

    @abstractmethod
    def check_move(self, state: JSON, player_id: str, move: JSON) -> None:
        """Raise InvalidMove unless `move` is legal for `player_id` in `state`."""

    @abstractmethod
    def resolve(self, state: JSON, moves: dict[str, JSON], *, turn: int) -> Resolution:
        """Resolve turn number `turn` once every active player's move is in.

        `moves` has one entry for every player still active, in seat order.
        A value of None means the player missed the turn (its deadline
        passed); each ruleset documents what a missed move means. Players of
        the game that are absent from `moves` have resigned or are out: the
        ruleset must treat them as gone.
        """

    @abstractmethod
    def decide_after_leave(self, state: JSON, active: list[str]) -> Resolution | None:
        """Return how the game goes on when only `active` players remain.

        Called when a player resigns or is put out between turns. Return a
        Resolution with `outcome` set when the remaining players decide the
        game (typically one or none left); a Resolution with `outcome` None
        to play on from its updated `state` (a departed cycle marked not
        alive, for example); or None to play on with the state unchanged.
        """

    def view(self, state: JSON, player_id: str | None) -> JSON:
        """Return the part of `state` that `player_id` may see.

        The default shows the whole state, which suits rulesets whose state
        holds only resolved, public information.
        """
        return state

    def missed_move_meaning(self) -> str:
        """Return one sentence on what a missed (None) move means here."""
        return "A missed move counts as no move."
