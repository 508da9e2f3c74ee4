"""Invitations against a live server: reserved seats, join, decline and lists."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_error

GAMES = "/api/v1/games"


def create(api, token: str, invite, ruleset: str = "rps", seats: int = 2):
    body = {"ruleset": ruleset, "seats": seats, "options": {}, "invite": invite}
    return api.post(GAMES, token, json=body)


def listed(api, token: str, view: str | None = None) -> dict:
    path = f"{GAMES}?view={view}" if view else GAMES
    response = api.get(path, token)
    assert response.status_code == 200, response.text
    return {summary["id"]: summary for summary in response.json()["games"]}


def test_invite_reserves_seat(api):
    host, guest, stranger = (api.new_player() for _ in range(3))

    response = create(api, host["token"], [guest["id"]])

    assert response.status_code == 201, response.text
    game = response.json()
    assert game["invited_players"] == [guest["id"]]
    assert game["invited"] is False
    assert [p["id"] for p in game["players"]] == [host["id"]]
    full = api.post(f"{GAMES}/{game['id']}/join", stranger["token"])
    assert assert_error(full, 409, "game_full")["status"] == "waiting"
    joined = api.join(guest["token"], game["id"])
    assert joined["status"] == "active"
    assert joined["invited_players"] == []
    assert joined["deadline"] is not None


def test_invite_accepts_uppercase_id(api):
    # iOS's UUID().uuidString is uppercase.
    host, guest = api.new_player(), api.new_player()

    response = create(api, host["token"], [guest["id"].upper()])

    assert response.status_code == 201, response.text
    game = response.json()
    assert game["invited_players"] == [guest["id"]]
    assert listed(api, guest["token"])[game["id"]]["invited"] is True
    assert api.join(guest["token"], game["id"])["status"] == "active"


def test_invited_player_lists_game(api):
    host, guest, stranger = (api.new_player() for _ in range(3))
    game = create(api, host["token"], [guest["id"]]).json()

    guest_games = listed(api, guest["token"])
    host_games = listed(api, host["token"])

    assert guest_games[game["id"]]["invited"] is True
    assert guest_games[game["id"]]["status"] == "waiting"
    assert host_games[game["id"]]["invited"] is False
    assert game["id"] not in listed(api, stranger["token"])
    assert api.game(guest["token"], game["id"])["invited"] is True


def test_open_list_needs_public_seat(api):
    host, first, second, stranger = (api.new_player() for _ in range(4))
    reserved = create(api, host["token"], [first["id"]]).json()
    partly = create(api, host["token"], [first["id"]], "lightcycles", 3).json()
    both = create(api, host["token"], [first["id"], second["id"]], "lightcycles", 3)

    open_games = listed(api, stranger["token"], "open")

    assert reserved["id"] not in open_games
    assert partly["id"] in open_games
    assert both.json()["id"] not in open_games


def test_decline_frees_seat(api):
    host, guest, stranger = (api.new_player() for _ in range(3))
    game = create(api, host["token"], [guest["id"]]).json()

    declined = api.post(f"{GAMES}/{game['id']}/decline", guest["token"])
    again = api.post(f"{GAMES}/{game['id']}/decline", guest["token"])

    assert declined.status_code == 200, declined.text
    assert declined.json()["invited_players"] == []
    assert declined.json()["status"] == "waiting"
    assert again.status_code == 200, again.text
    assert again.json()["version"] == declined.json()["version"]
    assert game["id"] not in listed(api, guest["token"])
    assert game["id"] in listed(api, stranger["token"], "open")
    assert api.join(stranger["token"], game["id"])["status"] == "active"


def test_decline_errors(api):
    host, guest, stranger = (api.new_player() for _ in range(3))
    game = create(api, host["token"], [guest["id"]]).json()
    path = f"{GAMES}/{game['id']}/decline"

    not_invited = api.post(path, stranger["token"])
    seated = api.post(path, host["token"])
    missing = api.post(f"{GAMES}/{uuid.uuid4()}/decline", guest["token"])
    api.join(guest["token"], game["id"])
    after_join = api.post(path, guest["token"])
    not_invited_after_start = api.post(path, stranger["token"])

    assert_error(not_invited, 403, "not_a_member")
    assert assert_error(seated, 409, "game_not_active")["status"] == "waiting"
    assert_error(missing, 404, "not_found")
    assert assert_error(after_join, 409, "game_not_active")["status"] == "active"
    # Once the game has started, 409 wins over 403 for a player never invited.
    details = assert_error(not_invited_after_start, 409, "game_not_active")
    assert details["status"] == "active"


@pytest.mark.parametrize(
    "invite",
    [
        "not a list",
        [7],
        ["{other}", "{other}"],
        ["{other}", "{other_upper}"],
        ["{host}"],
        ["{host_upper}"],
        [str(uuid.UUID(int=1))],
        ["{other}", "{third}"],
    ],
    ids=[
        "string",
        "number",
        "duplicate",
        "duplicate_upper",
        "creator",
        "creator_upper",
        "unknown",
        "too_many",
    ],
)
def test_invalid_invite_rejected(api, invite):
    host, other, third = (api.new_player() for _ in range(3))
    ids = {"host": host["id"], "other": other["id"], "third": third["id"]}
    ids.update({f"{name}_upper": value.upper() for name, value in list(ids.items())})
    if isinstance(invite, list):
        invite = [p.format(**ids) if isinstance(p, str) else p for p in invite]

    response = create(api, host["token"], invite)

    assert assert_error(response, 400, "invalid_request")["field"] == "invite"
