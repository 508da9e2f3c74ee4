"""Records for storage tests, each with fresh uuid ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from storage.records import ChatLine, GameRecord, PlayerRecord, TurnRecord

# Times with microseconds, which a Cassandra timestamp column would lose.
T0 = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)
T1 = datetime(2026, 3, 14, 15, 9, 27, 1, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def make_player(**changes) -> PlayerRecord:
    fields = {
        "id": new_id(),
        "name": "Ada",
        "token_hash": uuid.uuid4().hex,
        "created_at": T0,
    }
    fields.update(changes)
    return PlayerRecord(**fields)


def make_game(**changes) -> GameRecord:
    player_id = new_id()
    fields = {
        "id": new_id(),
        "ruleset": "rock_paper_scissors",
        "seats": 2,
        "options": {"turns": 3},
        "status": "waiting",
        "turn": 1,
        "players": [{"id": player_id, "name": "Ada", "status": "active"}],
        "pending": {},
        "state": {"score": {player_id: 0}},
        "outcome": None,
        "resolved_turns": 0,
        "chat_seq": 0,
        "version": 1,
        "created_at": T0,
        "updated_at": T0,
        "extra": {"note": "Grüße ✓"},
    }
    fields.update(changes)
    return GameRecord(**fields)


def next_version(game: GameRecord, **changes) -> GameRecord:
    fields = dict(game.__dict__)
    fields.update(version=game.version + 1, updated_at=T1)
    fields.update(changes)
    return GameRecord(**fields)


def make_turn(game_id: str, number: int) -> TurnRecord:
    return TurnRecord(
        game_id=game_id,
        number=number,
        moves={"a": {"hand": "rock"}, "b": {"hand": "paper"}},
        events=[{"type": "win", "player": "b", "turn": number}],
        resolved_at=T0 + timedelta(seconds=number),
        timed_out=["a"] if number % 2 else [],
        cause="deadline" if number % 2 else "all_in",
    )


def make_line(game_id: str, seq: int, **changes) -> ChatLine:
    fields = {
        "game_id": game_id,
        "seq": seq,
        "player_id": "p1",
        "text": f"line {seq}",
        "sent_at": T0 + timedelta(microseconds=seq),
        "client_id": f"c{seq}",
    }
    fields.update(changes)
    return ChatLine(**fields)
