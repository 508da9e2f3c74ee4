"""Players and games for the HTTP scenarios, and history seeded through storage.

Games are created over HTTP, so they are exactly what the services build.
Long histories (100,000 chat lines, 1,000 turns) are then written directly
through the storage layer and committed with one conditional write of the
game, which takes seconds where HTTP would take many minutes.
"""

from __future__ import annotations

import uuid

from gameserver import clock
from storage.base import Storage
from storage.records import ChatLine, TurnRecord

from .httpclient import BenchClient

# Chat lines handed to the storage layer per call while seeding.
SEED_CHUNK_LINES = 10_000


def new_players(client: BenchClient, count: int) -> list[dict]:
    """Register `count` players and return their {"id", "name", "token"}."""
    return [
        client.expect(
            201, "POST", "/api/v1/players", body={"name": f"b-{uuid.uuid4().hex[:8]}"}
        ).body
        for _ in range(count)
    ]


def new_game(client: BenchClient, players: list[dict]) -> dict:
    """Start a lockstep game seating `players` and return its view."""
    body = {"ruleset": "lockstep", "seats": len(players), "options": {}}
    game = client.expect(
        201, "POST", "/api/v1/games", token=players[0]["token"], body=body
    ).body
    for player in players[1:]:
        path = f"/api/v1/games/{game['id']}/join"
        game = client.expect(200, "POST", path, token=player["token"]).body
    if game["status"] != "active":
        raise RuntimeError(f"Game {game['id']} did not start: {game['status']}.")
    return game


def seed_history(
    storage: Storage, game_id: str, chat_lines: int = 0, resolved_turns: int = 0
) -> None:
    """Give a started, untouched game `chat_lines` lines and `resolved_turns` turns.

    The rows are written first and the game is then committed at its next
    version, naming the newest line and turn, as the services would have.
    """
    game = storage.get_game(game_id)
    if game is None or game.chat_seq or game.resolved_turns:
        raise RuntimeError(f"Game {game_id} is missing or already has history.")
    player_ids = game.player_ids()
    now = clock.now()

    for first in range(1, chat_lines + 1, SEED_CHUNK_LINES):
        last = min(chat_lines, first + SEED_CHUNK_LINES - 1)
        lines = [
            ChatLine(
                game_id=game_id,
                seq=seq,
                player_id=player_ids[seq % len(player_ids)],
                text=f"seeded line {seq}",
                sent_at=now,
            )
            for seq in range(first, last + 1)
        ]
        storage.put_chat_lines(lines)
        game.chat_seq = last
        game.last_chat = lines[-1]

    for number in range(1, resolved_turns + 1):
        turn = TurnRecord(
            game_id=game_id,
            number=number,
            moves={pid: {"seeded": number} for pid in player_ids},
            events=[],
            resolved_at=now,
        )
        storage.put_turn(turn)
        game.last_turn = turn
    if resolved_turns:
        game.resolved_turns = resolved_turns
        game.turn = resolved_turns + 1
        game.pending = {}

    expected = game.version
    game.version = expected + 1
    game.updated_at = clock.now()
    storage.update_game(game, expected)
