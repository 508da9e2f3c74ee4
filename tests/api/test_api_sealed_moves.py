"""Sealed moves: before a turn resolves, no one else sees a player's move anywhere."""

from __future__ import annotations

import uuid

import pytest

from tests.api.support import (
    chat_path,
    expect_conflict,
    expect_error,
    move_path,
    play_turn,
)

GAMES = "/api/v1/games"


def assert_sealed(responses: dict, secret: str) -> None:
    """Assert that no response body or header of `responses` contains `secret`."""
    assert responses, "nothing was checked"
    for label, response in responses.items():
        assert secret not in response.content.decode("utf-8"), label
        for name, value in response.headers.items():
            assert secret not in value, f"{label}: header {name}"


@pytest.fixture
def sealed_game(api):
    """A three-player lockstep game at turn 2, with a secret move in from seat 0."""
    game, players = api.started_game("lockstep", 3)
    play_turn(
        api, game["id"], 1, [(p, {"turn": 1, "seat": n}) for n, p in enumerate(players)]
    )
    secret = f"zebra-{uuid.uuid4()}"
    response = api.move(players[0]["token"], game["id"], 2, {"secret": secret})
    assert response.status_code == 200, response.text
    assert response.json()["resolved"] is False
    return game, players, secret


def rival_requests(api, game_id: str, rival: dict) -> dict:
    """Send every kind of request a rival can make; return the responses by label."""
    token = rival["token"]
    game_path = f"{GAMES}/{game_id}"
    view = api.get(game_path, token)
    etag = view.headers["ETag"]
    chat = api.get(chat_path(game_id), token)

    responses = {
        "view": view,
        "view-304": api.get(game_path, token, headers={"If-None-Match": etag}),
        "view-stale": api.get(game_path, token, headers={"If-None-Match": '"1"'}),
        "list": api.get(GAMES, token),
        "open-list": api.get(f"{GAMES}?view=open", token),
        "turns": api.get(f"{game_path}/turns", token),
        "turns-after-1": api.get(f"{game_path}/turns?after=1&limit=100", token),
        "chat": chat,
        "chat-304": api.get(
            chat_path(game_id), token, headers={"If-None-Match": chat.headers["ETag"]}
        ),
        "chat-post": api.post(chat_path(game_id), token, json={"text": "your move?"}),
        "join": api.post(f"{game_path}/join", token),
        "me": api.get("/api/v1/players/me", token),
        "turn-closed": api.move(token, game_id, 1, {"changed": True}),
        "retry": api.move(token, game_id, 1, {"turn": 1, "seat": rival["seat"]}),
        "wrong-turn": api.move(token, game_id, 3, "too early"),
        "invalid-move": api.move(token, game_id, 2, "x" * (17 * 1024)),
        "no-move-field": api.put(move_path(game_id, 2), token, json={"moves": 1}),
        "bad-query": api.get(f"{game_path}/turns?limit=0", token),
    }

    expect_conflict(responses["turn-closed"], "turn_closed", turn=2, status="active")
    expect_conflict(responses["wrong-turn"], "wrong_turn", turn=2, status="active")
    expect_error(responses["invalid-move"], 400, "invalid_move")
    assert responses["view-304"].status_code == 304
    assert responses["retry"].status_code == 200
    return responses


def test_rival_sees_nothing_of_sealed_move(api, sealed_game):
    game, (first, second, _third), secret = sealed_game
    second = {**second, "seat": 1}

    responses = rival_requests(api, game["id"], second)

    assert_sealed(responses, secret)
    view = responses["view"].json()
    assert view["your_move"] is None
    assert view["submitted"] == [first["id"]]


def test_rival_own_move_response_is_sealed(api, sealed_game):
    game, (_first, second, _third), secret = sealed_game

    response = api.move(second["token"], game["id"], 2, {"mine": 1})

    assert response.json()["resolved"] is False
    assert_sealed({"own-move": response}, secret)


def test_replaced_move_stays_sealed(api, sealed_game):
    game, (first, second, _third), secret = sealed_game
    other_secret = f"zebra-{uuid.uuid4()}"
    replaced = api.move(first["token"], game["id"], 2, {"secret": other_secret})
    assert replaced.json()["game"]["your_move"] == {"secret": other_secret}

    responses = rival_requests(api, game["id"], {**second, "seat": 1})

    assert_sealed(responses, secret)
    assert_sealed(responses, other_secret)


def test_outsider_sees_nothing_of_sealed_move(api, sealed_game):
    game, _players, secret = sealed_game
    outsider = api.new_player()
    token = outsider["token"]
    game_path = f"{GAMES}/{game['id']}"

    responses = {
        "view": api.get(game_path, token),
        "turns": api.get(f"{game_path}/turns", token),
        "chat": api.get(chat_path(game["id"]), token),
        "move": api.move(token, game["id"], 2, {"guess": secret[:6]}),
        "join": api.post(f"{game_path}/join", token),
        "resign": api.post(f"{game_path}/resign", token),
    }

    assert_sealed(responses, secret)
    assert responses["view"].json()["your_move"] is None
    expect_error(responses["move"], 403, "not_a_member")
    expect_conflict(responses["join"], "game_full", turn=2, status="active")


def test_owner_sees_own_sealed_move(api, sealed_game):
    game, (first, _second, _third), secret = sealed_game

    view = api.game(first["token"], game["id"])

    assert view["your_move"] == {"secret": secret}


def test_move_revealed_after_resolution(api, sealed_game):
    game, (first, second, third), secret = sealed_game
    play_turn(api, game["id"], 2, [(second, "b2"), (third, "c2")])

    turns = api.get(f"{GAMES}/{game['id']}/turns?after=1", second["token"]).json()[
        "turns"
    ]

    assert turns[0]["moves"][first["id"]] == {"secret": secret}
    assert api.game(second["token"], game["id"])["your_move"] is None


def test_rps_throw_sealed_in_state(api):
    game, (first, second) = api.started_game("rps")
    assert (
        api.move(first["token"], game["id"], 1, {"throw": "scissors"}).status_code
        == 200
    )

    view = api.get(f"{GAMES}/{game['id']}", second["token"])

    assert "scissors" not in view.text
    assert view.json()["your_move"] is None
