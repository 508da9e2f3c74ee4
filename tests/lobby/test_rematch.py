"""Rematches: over HTTP against a live server, and with a rematch left uncommitted."""

from __future__ import annotations

import threading
import uuid

import requests

from games.lobby import _create_rematch, game_rematch
from games.services import game_create, game_get, game_join, game_resign
from players.services import player_create
from tests.helpers import assert_error

GAMES = "/api/v1/games"


def finished_game(api):
    """Play a two-player rps game to its end by a resignation."""
    game, (first, second) = api.started_game("rps", 2, rounds=5)
    response = api.post(f"{GAMES}/{game['id']}/resign", second["token"])
    assert response.json()["status"] == "finished", response.text
    return game, first, second


def rematch(api, token: str, game_id: str):
    return api.post(f"{GAMES}/{game_id}/rematch", token)


def test_rematch_seats_caller_and_invites_rival(api):
    game, first, second = finished_game(api)

    response = rematch(api, first["token"], game["id"])

    assert response.status_code == 200, response.text
    new = response.json()["game"]
    assert new["id"] != game["id"]
    assert new["status"] == "waiting"
    assert new["ruleset"] == "rps"
    assert new["seats"] == 2
    assert new["options"] == game["options"]
    assert [p["id"] for p in new["players"]] == [first["id"]]
    assert new["invited_players"] == [second["id"]]
    assert api.game(first["token"], game["id"])["rematch_id"] == new["id"]
    assert api.game(second["token"], new["id"])["invited"] is True


def test_rematch_later_calls_return_same_game(api):
    game, first, second = finished_game(api)
    new = rematch(api, first["token"], game["id"]).json()["game"]

    by_rival = rematch(api, second["token"], game["id"])
    by_caller = rematch(api, first["token"], game["id"])

    assert by_rival.status_code == 200, by_rival.text
    assert by_rival.json()["game"]["id"] == new["id"]
    # The invited rival who requests the rematch takes the reserved seat.
    assert by_rival.json()["game"]["status"] == "active"
    assert by_caller.json()["game"]["id"] == new["id"]


def test_rematch_both_at_once_gives_one_game(api, server):
    game, first, second = finished_game(api)
    barrier = threading.Barrier(2)
    ids = {}

    def ask(player: dict) -> None:
        with requests.Session() as session:
            barrier.wait(30)
            response = session.post(
                f"{server.url}{GAMES}/{game['id']}/rematch",
                headers={"Authorization": f"Bearer {player['token']}"},
                timeout=30,
            )
            assert response.status_code == 200, response.text
            ids[player["id"]] = response.json()["game"]["id"]

    threads = [threading.Thread(target=ask, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(set(ids.values())) == 1
    new = api.game(first["token"], ids[first["id"]])
    assert new["status"] == "active"
    assert sorted(p["id"] for p in new["players"]) == sorted(ids)


def test_rematch_errors(api):
    game, (first, _) = api.started_game("rps", 2)
    stranger = api.new_player()
    finished, winner, _ = finished_game(api)

    active = rematch(api, first["token"], game["id"])
    outsider = rematch(api, stranger["token"], finished["id"])
    missing = rematch(api, first["token"], str(uuid.uuid4()))

    assert assert_error(active, 409, "game_not_active")["status"] == "active"
    assert_error(outsider, 403, "not_a_member")
    assert_error(missing, 404, "not_found")


def test_uncommitted_rematch_is_reused(backends):
    # A holder of the old game's lock created the rematch, then lost the
    # lock before it committed rematch_id. The next call finds that game.
    first, _ = player_create(name="Ada")
    second, _ = player_create(name="Grace")
    game = game_create(
        player_id=first.id, player_name="Ada", ruleset="rps", seats=2, options={}
    )
    game_join(player_id=second.id, player_name="Grace", game_id=game.id)
    game = game_resign(player_id=second.id, game_id=game.id)
    orphan = _create_rematch(game, first.id, "Ada")

    new = game_rematch(player_id=second.id, player_name="Grace", game_id=game.id)

    assert new.id == orphan.id
    assert [p["id"] for p in new.players] == [first.id, second.id]
    assert new.status == "active"
    assert game_get(game_id=game.id).extra["rematch_id"] == orphan.id
