"""A small HTTP helper for API tests: raw responses, plus common set-up steps."""

from __future__ import annotations

import uuid

import requests


class Api:
    """Send requests to a live server and return `requests.Response` objects."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def close(self) -> None:
        self.session.close()

    def request(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("timeout", 30)
        return self.session.request(
            method, f"{self.base_url}{path}", headers=headers, **kwargs
        )

    def get(self, path, token=None, **kwargs):
        return self.request("GET", path, token, **kwargs)

    def post(self, path, token=None, **kwargs):
        return self.request("POST", path, token, **kwargs)

    def put(self, path, token=None, **kwargs):
        return self.request("PUT", path, token, **kwargs)

    # -- set-up steps that assert their own success ----------------------

    def new_player(self, name: str | None = None) -> dict:
        """Register a player; return {"id", "name", "token"}."""
        response = self.post(
            "/api/v1/players", json={"name": name or f"p-{uuid.uuid4().hex[:8]}"}
        )
        assert response.status_code == 201, response.text
        return response.json()

    def new_game(
        self, token: str, ruleset: str = "rps", seats: int = 2, **options
    ) -> dict:
        body = {"ruleset": ruleset, "seats": seats, "options": options}
        response = self.post("/api/v1/games", token, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def join(self, token: str, game_id: str) -> dict:
        response = self.post(f"/api/v1/games/{game_id}/join", token)
        assert response.status_code == 200, response.text
        return response.json()

    def started_game(self, ruleset: str = "rps", seats: int = 2, **options):
        """Create a game, fill every seat, and return (game view, players)."""
        players = [self.new_player() for _ in range(seats)]
        game = self.new_game(players[0]["token"], ruleset, seats, **options)
        for player in players[1:]:
            game = self.join(player["token"], game["id"])
        assert game["status"] == "active", game
        return game, players

    def move(self, token: str, game_id: str, turn: int, move):
        return self.put(
            f"/api/v1/games/{game_id}/turns/{turn}/move", token, json={"move": move}
        )

    def game(self, token: str, game_id: str) -> dict:
        response = self.get(f"/api/v1/games/{game_id}", token)
        assert response.status_code == 200, response.text
        return response.json()


def assert_error(response, status: int, code: str) -> dict:
    """Assert the JSON error body and status; return its details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]["details"]
