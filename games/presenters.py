"""Build the JSON shapes of API.md from records."""

from __future__ import annotations

from datetime import datetime, timedelta

from gameserver.clock import rfc3339
from storage import GameRecord, TurnRecord

from .deadlines import deadline_of
from .listing import invited_ids
from .lobby import REMATCH_KEY
from .services import MOVE_NOT_KNOWN, move_needed, pending_move, rules_for


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


def game_view(
    game: GameRecord, viewer_id: str, own_move: object = MOVE_NOT_KNOWN
) -> dict:
    """Return the game view for `viewer_id`; other players' sealed moves never appear.

    `own_move` is the viewer's pending move when the caller knows it, which
    saves reading it from storage.
    """
    if own_move is MOVE_NOT_KNOWN:
        own_move = pending_move(game, viewer_id)
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
        "your_move": own_move,
        "state": state,
        "chat_seq": game.chat_seq,
        "outcome": game.outcome,
        "deadline": _deadline_text(game),
        "invited": viewer_id in invited_ids(game),
        "invited_players": invited_ids(game),
        "rematch_id": game.extra.get(REMATCH_KEY),
        "version": game.version,
        "created_at": rfc3339(game.created_at),
        "updated_at": rfc3339(game.updated_at),
    }


def _deadline_text(game: GameRecord) -> str | None:
    deadline = deadline_of(game)
    return None if deadline is None else rfc3339(deadline)


def game_summary(game: GameRecord, viewer_id: str) -> dict:
    return {
        "id": game.id,
        "ruleset": game.ruleset,
        "seats": game.seats,
        "status": game.status,
        "turn": game.turn,
        "players": players_view(game),
        "your_move_needed": move_needed(game, viewer_id),
        "invited": viewer_id in invited_ids(game),
        "deadline": _deadline_text(game),
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


# Seconds suggested in X-Poll-Interval for the next poll of a game or its chat.
# A rival's move is awaited soon: the game changed within the last minute or
# the turn's deadline falls within the next one.
POLL_SOON = 1
# Rivals are quiet, or seats are still open.
POLL_QUIET = 5
# The game waits on the caller's own move, or has finished.
POLL_LONG = 30
RECENT = timedelta(seconds=60)


def poll_interval(game: GameRecord, viewer_id: str, now: datetime) -> int:
    """Return the seconds a client should wait before it polls the game again."""
    if game.status == "finished" or move_needed(game, viewer_id):
        return POLL_LONG
    if game.status != "active":
        return POLL_QUIET
    deadline = deadline_of(game)
    if now - game.updated_at < RECENT or (
        deadline is not None and deadline - now < RECENT
    ):
        return POLL_SOON
    return POLL_QUIET


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
