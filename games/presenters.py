"""Build the JSON shapes of API.md from records."""

from __future__ import annotations

from gameserver.clock import rfc3339
from storage import GameRecord, TurnRecord

from .services import move_needed, pending_move, rules_for


def players_view(game: GameRecord) -> list[dict]:
    return [
        {
            "id": p["id"],
            "name": p["name"],
            "seat": p["seat"],
            "status": p["status"],
            "missed": p.get("missed", 0),
        }
        for p in game.players
    ]


def game_view(game: GameRecord, viewer_id: str) -> dict:
    """Return the game view for `viewer_id`; other players' sealed moves never appear."""
    state = None
    if game.state is not None:
        state = rules_for(game).view(game.state, viewer_id)
    submitted = [p["id"] for p in game.players if p["id"] in game.pending]
    return {
        "id": game.id,
        "ruleset": game.ruleset,
        "seats": game.seats,
        "options": game.options,
        "status": game.status,
        "players": players_view(game),
        "turn": game.turn,
        "submitted": submitted,
        "your_move": pending_move(game, viewer_id),
        "state": state,
        "chat_seq": game.chat_seq,
        "outcome": game.outcome,
        "version": game.version,
        "created_at": rfc3339(game.created_at),
        "updated_at": rfc3339(game.updated_at),
    }


def game_summary(game: GameRecord, viewer_id: str) -> dict:
    return {
        "id": game.id,
        "ruleset": game.ruleset,
        "seats": game.seats,
        "status": game.status,
        "turn": game.turn,
        "players": players_view(game),
        "your_move_needed": move_needed(game, viewer_id),
        "version": game.version,
        "created_at": rfc3339(game.created_at),
        "updated_at": rfc3339(game.updated_at),
    }


def turn_view(turn: TurnRecord) -> dict:
    return {
        "number": turn.number,
        "moves": turn.moves,
        "events": turn.events,
        "timed_out": turn.timed_out,
        "cause": turn.cause,
        "resolved_at": rfc3339(turn.resolved_at),
    }


def etag_for(value: int) -> str:
    return f'"{value}"'


def etag_matches(request, value: int) -> bool:
    """Return whether the request's If-None-Match names the current ETag."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    current = etag_for(value)
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == current or candidate == "*":
            return True
    return False
