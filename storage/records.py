"""Plain records that the storage layer reads and writes.

They carry data only. Game logic lives in the services and rulesets, and
each storage backend maps these records to its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = Any


@dataclass
class PlayerRecord:
    id: str
    name: str
    token_hash: str
    created_at: datetime


@dataclass
class GameRecord:
    """One game: the row whose versioned, conditional write commits a change.

    `pending` maps each player whose move for the current turn is in to the
    `write_id` of that move's row. A move row whose `write_id` is not named
    here was left behind by an abandoned write and must not be shown.
    `resolved_turns` is the number of the last resolved turn and `chat_seq`
    the seq of the last chat line; rows beyond either are not yet committed.
    `extra` holds optional fields (deadlines, invites, rematch) so that new
    features need no schema change.
    """

    id: str
    ruleset: str
    seats: int
    options: dict[str, JSON]
    status: str
    turn: int
    players: list[dict[str, JSON]]
    pending: dict[str, str]
    state: JSON
    outcome: dict[str, str] | None
    resolved_turns: int
    chat_seq: int
    version: int
    created_at: datetime
    updated_at: datetime
    extra: dict[str, JSON] = field(default_factory=dict)

    def player_ids(self) -> list[str]:
        return [player["id"] for player in self.players]

    def seat_of(self, player_id: str) -> dict[str, JSON] | None:
        for player in self.players:
            if player["id"] == player_id:
                return player
        return None

    def active_player_ids(self) -> list[str]:
        return [p["id"] for p in self.players if p["status"] == "active"]

    def document(self) -> dict[str, JSON]:
        """Return the fields that backends store as one JSON document."""
        return {
            "ruleset": self.ruleset,
            "seats": self.seats,
            "options": self.options,
            "turn": self.turn,
            "players": self.players,
            "pending": self.pending,
            "state": self.state,
            "outcome": self.outcome,
            "resolved_turns": self.resolved_turns,
            "chat_seq": self.chat_seq,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "extra": self.extra,
        }

    @classmethod
    def from_document(
        cls, game_id: str, status: str, version: int, doc: dict[str, JSON]
    ) -> GameRecord:
        return cls(
            id=game_id,
            ruleset=doc["ruleset"],
            seats=doc["seats"],
            options=doc["options"],
            status=status,
            turn=doc["turn"],
            players=doc["players"],
            pending=doc["pending"],
            state=doc["state"],
            outcome=doc["outcome"],
            resolved_turns=doc["resolved_turns"],
            chat_seq=doc["chat_seq"],
            version=version,
            created_at=datetime.fromisoformat(doc["created_at"]),
            updated_at=datetime.fromisoformat(doc["updated_at"]),
            extra=doc.get("extra", {}),
        )


@dataclass
class MoveRecord:
    """A sealed move for a turn that has not resolved yet."""

    game_id: str
    turn: int
    player_id: str
    write_id: str
    move: JSON
    submitted_at: datetime


@dataclass
class TurnRecord:
    """A resolved turn with every move revealed."""

    game_id: str
    number: int
    moves: dict[str, JSON]
    events: list[JSON]
    resolved_at: datetime
    timed_out: list[str] = field(default_factory=list)
    cause: str = "all_in"


@dataclass
class ChatLine:
    game_id: str
    seq: int
    player_id: str
    text: str
    sent_at: datetime
    client_id: str | None = None
