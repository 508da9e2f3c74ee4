"""Plain records that the storage layer reads and writes.

They carry data only. Game logic lives in the services and rulesets, and
each storage backend maps these records to its own tables.
"""

from __future__ import annotations

from collections.abc import Callable
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
    `extra` contains optional fields (deadlines, invites, rematch) so that new
    features need no schema change.

    `last_turn` and `last_chat` carry the most recently committed resolved
    turn and chat line inside the commit itself. Their own rows are written
    only after the commit succeeds (and again by the next writer, before it
    replaces them), so a writer that lost its lock can never put content
    into a turn or chat row that no commit made: the only content it can
    write there is content it read from a committed games row.
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
    last_turn: TurnRecord | None = None
    last_chat: ChatLine | None = None
    # Webhook events committed with the game and not yet known to be
    # delivered, oldest first (games/outbox.py).
    outbox: list[dict[str, JSON]] = field(default_factory=list)
    # Ids of the most recent commits, oldest first, the last one being the
    # commit of `version`. A backend whose conditional write can end with an
    # unknown outcome appends one per commit, so that it can later tell
    # whether its write is part of the history (storage/cassandra.py).
    commit_ids: list[str] = field(default_factory=list)
    # Rows to write once the commit succeeds; never stored.
    unflushed: list[TurnRecord | ChatLine] = field(
        default_factory=list, repr=False, compare=False
    )
    # Functions to call once the commit succeeds, such as metrics that must
    # count committed changes only; never stored.
    after_commit: list[Callable[[], None]] = field(
        default_factory=list, repr=False, compare=False
    )

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
            "last_turn": self.last_turn.to_dict() if self.last_turn else None,
            "last_chat": self.last_chat.to_dict() if self.last_chat else None,
            "outbox": self.outbox,
            "commit_ids": self.commit_ids,
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
            last_turn=TurnRecord.from_dict(game_id, doc["last_turn"])
            if doc.get("last_turn")
            else None,
            last_chat=ChatLine.from_dict(game_id, doc["last_chat"])
            if doc.get("last_chat")
            else None,
            outbox=doc.get("outbox", []),
            commit_ids=doc.get("commit_ids", []),
        )


@dataclass
class MoveRecord:
    """A sealed move for a turn that has not resolved yet.

    Stored under its own `write_id`, so a move row is never overwritten:
    the committed game's `pending` map names which write is the player's
    current move, and rows of abandoned writes are simply never read.
    """

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

    def to_dict(self) -> dict[str, JSON]:
        return {
            "number": self.number,
            "moves": self.moves,
            "events": self.events,
            "resolved_at": self.resolved_at.isoformat(),
            "timed_out": self.timed_out,
            "cause": self.cause,
        }

    @classmethod
    def from_dict(cls, game_id: str, data: dict[str, JSON]) -> TurnRecord:
        return cls(
            game_id=game_id,
            number=data["number"],
            moves=data["moves"],
            events=data["events"],
            resolved_at=datetime.fromisoformat(data["resolved_at"]),
            timed_out=data.get("timed_out", []),
            cause=data.get("cause", "all_in"),
        )


@dataclass(frozen=True)
class DueEntry:
    """An entry of the due index: game `game_id` has a turn deadline at `due_at`.

    The entry is a hint written before the commit that sets the deadline.
    The committed games row decides whether the deadline is still current.
    """

    game_id: str
    due_at: datetime


@dataclass
class ChatLine:
    game_id: str
    seq: int
    player_id: str
    text: str
    sent_at: datetime
    client_id: str | None = None

    def to_dict(self) -> dict[str, JSON]:
        return {
            "seq": self.seq,
            "player_id": self.player_id,
            "text": self.text,
            "sent_at": self.sent_at.isoformat(),
            "client_id": self.client_id,
        }

    @classmethod
    def from_dict(cls, game_id: str, data: dict[str, JSON]) -> ChatLine:
        return cls(
            game_id=game_id,
            seq=data["seq"],
            player_id=data["player_id"],
            text=data["text"],
            sent_at=datetime.fromisoformat(data["sent_at"]),
            client_id=data.get("client_id"),
        )
