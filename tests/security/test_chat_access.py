"""Only players seated in a game read or post its chat, through every path."""

from __future__ import annotations

import pytest

from tests.api.support import chat_path, expect_error

SECRET_LINE = "meet at the north gate"


@pytest.fixture
def chatty_game(api):
    """An active lockstep game whose chat has two lines, and an outsider."""
    game, players = api.started_game("lockstep", 2)
    for n, text in enumerate([SECRET_LINE, "ok"]):
        body = {"text": text, "client_id": f"c-{n}"}
        response = api.post(chat_path(game["id"]), players[n]["token"], json=body)
        assert response.status_code == 201, response.text
    return game, players, api.new_player()


@pytest.mark.parametrize(
    "query", ["", "?after=0", "?before=3", "?after=0&limit=100", "?limit=1"]
)
def test_outsider_cannot_read(api, chatty_game, query):
    game, _players, outsider = chatty_game

    response = api.get(chat_path(game["id"]) + query, outsider["token"])

    expect_error(response, 403, "not_a_member")
    assert SECRET_LINE not in response.text


def test_outsider_gets_403_not_304_with_current_etag(api, chatty_game):
    game, (first, _second), outsider = chatty_game
    etag = api.get(chat_path(game["id"]), first["token"]).headers["ETag"]

    response = api.get(
        chat_path(game["id"]), outsider["token"], headers={"If-None-Match": etag}
    )

    expect_error(response, 403, "not_a_member")
    assert "ETag" not in response.headers


def test_outsider_cannot_replay_member_client_id(api, chatty_game):
    game, _players, outsider = chatty_game

    response = api.post(
        chat_path(game["id"]), outsider["token"], json={"text": "x", "client_id": "c-0"}
    )

    expect_error(response, 403, "not_a_member")
    assert SECRET_LINE not in response.text


def test_outsider_post_adds_nothing(api, chatty_game):
    game, (first, _second), outsider = chatty_game

    response = api.post(chat_path(game["id"]), outsider["token"], json={"text": "hi"})

    expect_error(response, 403, "not_a_member")
    assert api.game(first["token"], game["id"])["chat_seq"] == 2


def test_waiting_game_outsider_cannot_chat(api):
    host = api.new_player()
    game = api.new_game(host["token"], "lockstep", 3)
    outsider = api.new_player()

    read = api.get(chat_path(game["id"]), outsider["token"])
    post = api.post(chat_path(game["id"]), outsider["token"], json={"text": "hi"})

    expect_error(read, 403, "not_a_member")
    expect_error(post, 403, "not_a_member")


def test_resigned_player_keeps_chat(api):
    game, (first, second, _third) = api.started_game("lockstep", 3)
    resigned = api.post(f"/api/v1/games/{game['id']}/resign", first["token"])
    assert resigned.status_code == 200, resigned.text

    post = api.post(chat_path(game["id"]), first["token"], json={"text": "gg"})
    read = api.get(chat_path(game["id"]), second["token"])

    assert post.status_code == 201, post.text
    assert [line["text"] for line in read.json()["messages"]] == ["gg"]


def test_unknown_game_chat_is_404(api):
    player = api.new_player()

    response = api.get(
        chat_path("00000000-0000-4000-8000-000000000000"), player["token"]
    )

    expect_error(response, 404, "not_found")
