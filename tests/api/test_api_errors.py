"""The error body, unknown routes, methods not allowed, and health."""

from __future__ import annotations

import uuid

import pytest

from gameserver.errors import to_api_error
from storage import StorageUnavailable
from tests.api.support import expect_conflict, expect_error

GAMES = "/api/v1/games"


def test_health_ok(api):
    response = api.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json() == {"storage": "ok", "locks": "ok"}


def test_health_ignores_bad_token(api):
    response = api.get("/api/v1/health", "not-a-token")

    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v2/games",
        "/api/v1/games/",
        "/api/v1/players/",
        "/api/v1/players/me/",
        "/api/v1/players/someone",
        "/api/V1/games",
        "/api/v1/games/00000000-0000-4000-8000-000000000000/moves",
        "/api/v1/games/00000000-0000-4000-8000-000000000000/turns/1",
        "/api/v1/games/00000000-0000-4000-8000-000000000000/chat/1",
    ],
)
def test_unknown_route_is_404(api, path):
    player = api.new_player()

    response = api.get(path, player["token"])

    expect_error(response, 404, "not_found")
    assert response.headers["Content-Type"].startswith("application/json")


def test_unknown_route_without_token_is_404(api):
    expect_error(api.get("/api/v1/nope"), 404, "not_found")


GAME = f"{GAMES}/00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", GAMES),
        ("PUT", GAMES),
        ("PATCH", GAMES),
        ("GET", "/api/v1/players"),
        ("PUT", "/api/v1/players"),
        ("DELETE", "/api/v1/players"),
        ("POST", "/api/v1/players/me"),
        ("DELETE", "/api/v1/players/me"),
        ("POST", "/api/v1/health"),
        ("DELETE", GAME),
        ("PATCH", GAME),
        ("PUT", GAME),
        ("GET", f"{GAME}/join"),
        ("DELETE", f"{GAME}/join"),
        ("GET", f"{GAME}/resign"),
        ("POST", f"{GAME}/turns"),
        ("GET", f"{GAME}/turns/1/move"),
        ("POST", f"{GAME}/turns/1/move"),
        ("DELETE", f"{GAME}/turns/1/move"),
        ("PUT", f"{GAME}/chat"),
        ("DELETE", f"{GAME}/chat"),
    ],
)
def test_method_not_allowed_is_405(api, method, path):
    player = api.new_player()

    response = api.request(method, path, player["token"], json={})

    expect_error(response, 405, "method_not_allowed")
    assert response.headers["Content-Type"].startswith("application/json")


def test_error_bodies_have_one_shape(api):
    """Check one error of every status and code in the API for its exact shape."""
    game, (first, second) = api.started_game("rps")
    gid = game["id"]
    play = api.move(first["token"], gid, 1, {"throw": "rock"})
    api.move(second["token"], gid, 1, {"throw": "paper"})
    waiting = api.new_game(first["token"], "rps", 2)
    outsider = api.new_player()
    big = {"text": "x" * (70 * 1024)}

    cases = [
        (
            api.post(GAMES, first["token"], json={"ruleset": "go"}),
            400,
            "invalid_request",
        ),
        (
            api.post(
                GAMES,
                first["token"],
                data=b"{",
                headers={"Content-Type": "application/json"},
            ),
            400,
            "malformed_json",
        ),
        (api.move(first["token"], gid, 2, {"throw": "well"}), 400, "invalid_move"),
        (
            api.post(f"{GAMES}/{gid}/chat", first["token"], json={"text": "x" * 2001}),
            400,
            "text_too_long",
        ),
        (api.get(GAMES), 401, "not_authenticated"),
        (api.get(f"{GAMES}/{gid}/chat", outsider["token"]), 403, "not_a_member"),
        (api.get(f"{GAMES}/{uuid.uuid4()}", first["token"]), 404, "not_found"),
        (api.request("DELETE", GAMES, first["token"]), 405, "method_not_allowed"),
        (api.post(f"{GAMES}/{gid}/join", outsider["token"]), 409, "game_full"),
        (
            api.move(first["token"], waiting["id"], 1, {"throw": "rock"}),
            409,
            "game_not_active",
        ),
        (api.move(first["token"], gid, 3, {"throw": "rock"}), 409, "wrong_turn"),
        (api.move(first["token"], gid, 1, {"throw": "paper"}), 409, "turn_closed"),
        (
            api.post(f"{GAMES}/{gid}/chat", first["token"], json=big),
            413,
            "payload_too_large",
        ),
    ]

    assert play.status_code == 200
    for response, status, code in cases:
        details = expect_error(response, status, code)
        assert response.headers["Content-Type"].startswith("application/json"), code
        if status == 409:
            assert set(details) >= {"turn", "status"}, code


def test_conflict_details_name_current_turn(api):
    game, (first, second) = api.started_game("lockstep", 2)
    for turn in (1, 2):
        api.move(first["token"], game["id"], turn, turn)
        api.move(second["token"], game["id"], turn, turn)

    closed = api.move(first["token"], game["id"], 1, "other")
    early = api.move(first["token"], game["id"], 4, "other")

    expect_conflict(closed, "turn_closed", turn=3, status="active")
    expect_conflict(early, "wrong_turn", turn=3, status="active")


def test_invalid_move_names_the_reason(api):
    game, (first, _second) = api.started_game("rps")

    response = api.move(first["token"], game["id"], 1, {"throw": "lizard"})

    expect_error(response, 400, "invalid_move")
    message = response.json()["error"]["message"]
    assert "rock" in message
    assert "lizard" in message


def test_unknown_commit_outcome_is_named_in_503():
    unknown = to_api_error(StorageUnavailable("lost", outcome_unknown=True))
    down = to_api_error(StorageUnavailable("down"))

    assert unknown.status == 503
    assert unknown.code == "unavailable"
    assert unknown.details == {"reason": "storage", "outcome": "unknown"}
    assert "may or may not have been applied" in unknown.message
    assert down.details == {"reason": "storage"}
    assert "nothing was written" in down.message
