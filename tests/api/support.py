"""Helpers for the API tests: exact error bodies, raw requests and game snapshots."""

from __future__ import annotations

from tests.helpers import assert_error

MAX_BODY_BYTES = 64 * 1024


def expect_error(response, status: int, code: str) -> dict:
    """Assert the status, the code and the exact error body; return the details."""
    details = assert_error(response, status, code)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return details


def expect_conflict(response, code: str, turn: int, status: str) -> dict:
    """Assert a 409 whose details carry the game's current turn and status."""
    details = expect_error(response, 409, code)
    assert details["turn"] == turn, details
    assert details["status"] == status, details
    return details


def send_raw(api, method: str, path: str, token: str | None, body: bytes, **headers):
    """Send `body` as is, as application/json unless `headers` sets a Content-Type."""
    headers.setdefault("Content-Type", "application/json")
    return api.request(method, path, token, data=body, headers=headers)


def move_path(game_id: str, turn: int | str) -> str:
    return f"/api/v1/games/{game_id}/turns/{turn}/move"


def chat_path(game_id: str) -> str:
    return f"/api/v1/games/{game_id}/chat"


def snapshot(api, token: str, game_id: str) -> dict:
    """Return what a request that changes nothing must leave unchanged."""
    view = api.game(token, game_id)
    turns = api.get(f"/api/v1/games/{game_id}/turns?limit=100", token)
    chat = api.get(f"{chat_path(game_id)}?limit=100", token)
    assert turns.status_code == 200, turns.text
    assert chat.status_code == 200, chat.text
    return {
        "version": view["version"],
        "turn": view["turn"],
        "status": view["status"],
        "chat_seq": view["chat_seq"],
        "players": view["players"],
        "submitted": view["submitted"],
        "your_move": view["your_move"],
        "turns": turns.json()["turns"],
        "messages": chat.json()["messages"],
    }


def play_turn(api, game_id: str, turn: int, moves: list[tuple[dict, object]]) -> dict:
    """Send each (player, move) for `turn` in order; return the last response body."""
    body = None
    for player, move in moves:
        response = api.move(player["token"], game_id, turn, move)
        assert response.status_code == 200, response.text
        body = response.json()
    return body


def resolved_turns(api, token: str, game_id: str, after: int = 0) -> list[dict]:
    response = api.get(f"/api/v1/games/{game_id}/turns?after={after}&limit=100", token)
    assert response.status_code == 200, response.text
    return response.json()["turns"]
