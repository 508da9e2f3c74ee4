"""POST /api/v1/matchmaking against a live server, many players at once."""

from __future__ import annotations

import random
import threading
import time

import requests

from tests.helpers import assert_error

MATCH = "/api/v1/matchmaking"
PLAYERS = 40
# A 503 means nothing was written (a lock wait ran out), so it is sent again.
MAX_TRIES = 10


def private_options() -> dict:
    """Return rps options that no other test uses, so only this test's players meet."""
    return {"rounds": 3, "turn_seconds": random.randint(100_000, 2_500_000)}


def matchmake(session: requests.Session, base_url: str, token: str, body: dict):
    for attempt in range(MAX_TRIES):
        response = session.post(
            f"{base_url}{MATCH}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        if response.status_code != 503:
            return response
        time.sleep(0.05 * (attempt + 1))
    return response


def test_matchmaking_creates_then_joins(api):
    options = private_options()
    first, second, third = (api.new_player() for _ in range(3))
    body = {"ruleset": "rps", "seats": 2, "options": options}

    created = api.post(MATCH, first["token"], json=body)
    joined = api.post(MATCH, second["token"], json=body)
    fresh = api.post(MATCH, third["token"], json=body)

    assert created.status_code == 200, created.text
    assert joined.status_code == 200, joined.text
    game = created.json()["game"]
    assert game["status"] == "waiting"
    assert game["options"]["turn_seconds"] == options["turn_seconds"]
    assert joined.json()["game"]["id"] == game["id"]
    assert joined.json()["game"]["status"] == "active"
    assert fresh.json()["game"]["id"] != game["id"]
    assert fresh.json()["game"]["status"] == "waiting"


def test_matchmaking_again_returns_waiting_game(api):
    player = api.new_player()
    body = {"ruleset": "rps", "seats": 2, "options": private_options()}

    first = api.post(MATCH, player["token"], json=body).json()["game"]
    again = api.post(MATCH, player["token"], json=body).json()["game"]

    assert again["id"] == first["id"]
    assert [p["id"] for p in again["players"]] == [player["id"]]


def test_matchmaking_normalises_options(api):
    options = private_options()
    first, second = api.new_player(), api.new_player()

    waiting = api.post(
        MATCH,
        first["token"],
        json={"ruleset": "rps", "seats": 2, "options": options},
    ).json()["game"]
    spelled_out = {**options, "on_timeout": "skip", "max_missed": 3}
    joined = api.post(
        MATCH, second["token"], json={"ruleset": "rps", "options": spelled_out}
    ).json()["game"]

    assert joined["id"] == waiting["id"]


def test_matchmaking_joins_public_created_game(api):
    options = private_options()
    host, seeker = api.new_player(), api.new_player()
    hosted = api.new_game(host["token"], "rps", 2, **options)

    matched = api.post(
        MATCH, seeker["token"], json={"ruleset": "rps", "seats": 2, "options": options}
    )

    assert matched.json()["game"]["id"] == hosted["id"]


def test_matchmaking_rejects_bad_settings(api):
    player = api.new_player()

    unknown = api.post(MATCH, player["token"], json={"ruleset": "chess"})
    bad_seats = api.post(MATCH, player["token"], json={"ruleset": "rps", "seats": 3})
    bad_option = api.post(
        MATCH, player["token"], json={"ruleset": "rps", "options": {"rounds": 2}}
    )
    not_object = api.post(MATCH, player["token"], json=["rps"])
    anonymous = api.post(MATCH, json={"ruleset": "rps"})

    assert assert_error(unknown, 400, "invalid_request")["field"] == "ruleset"
    assert assert_error(bad_seats, 400, "invalid_request")["field"] == "seats"
    assert assert_error(bad_option, 400, "invalid_request")["field"] == "options.rounds"
    assert_error(not_object, 400, "invalid_request")
    assert_error(anonymous, 401, "not_authenticated")


def test_forty_players_at_once_fill_twenty_games(api, server):
    players = [api.new_player() for _ in range(PLAYERS)]
    body = {"ruleset": "rps", "seats": 2, "options": private_options()}
    barrier = threading.Barrier(PLAYERS)
    responses: dict[str, requests.Response] = {}

    def seek(player: dict) -> None:
        with requests.Session() as session:
            barrier.wait(30)
            responses[player["id"]] = matchmake(
                session, server.url, player["token"], body
            )

    threads = [threading.Thread(target=seek, args=(p,)) for p in players]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)

    game_ids = {}
    for player in players:
        response = responses[player["id"]]
        assert response.status_code == 200, response.text
        game_ids[player["id"]] = response.json()["game"]["id"]
    games = {gid: api.game(players[0]["token"], gid) for gid in set(game_ids.values())}
    assert len(games) == PLAYERS // 2
    seated = [p["id"] for game in games.values() for p in game["players"]]
    assert sorted(seated) == sorted(p["id"] for p in players)
    for game in games.values():
        assert game["status"] == "active", game
        assert len(game["players"]) == 2
    for player_id, game_id in game_ids.items():
        assert player_id in [p["id"] for p in games[game_id]["players"]]
