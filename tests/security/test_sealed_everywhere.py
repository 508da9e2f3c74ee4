"""Sealed moves, beyond tests/api/test_api_sealed_moves.py.

Two approaches. First, what every request of a rival or an outsider returns
is compared before and after a player's sealed move: status, body and
headers may differ only in the fields that announce that a move is in
(`submitted`, `version`, `updated_at`, `ETag`). This catches a leak through
any field, including a ruleset's `state`, whatever form it takes. Second, a
secret string in a lockstep move is looked for in the responses to the
requests the other file does not send: 404, 405 and 413 errors, paging
queries, OPTIONS, the resign response and the OpenAPI schema.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api.support import chat_path, move_path, play_turn

GAMES = "/api/v1/games"

# Fields that must change when a rival's move is in: they announce that a
# move exists, never what it is.
ANNOUNCING_FIELDS = {"submitted", "version", "updated_at"}
# Response headers that differ between any two requests or announce a change.
VOLATILE_HEADERS = {"date", "etag", "content-length"}

FIRST_MOVES = {
    "rps": {"throw": "scissors"},
    "lightcycles": {"dir": "W"},
    "lockstep": {"plan": "flank left", "seed": 42},
}


def scrub(value):
    """Drop the announcing fields from every object inside `value`."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if k not in ANNOUNCING_FIELDS}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def observe(api, token: str, game_id: str) -> dict:
    """Send every request of a player that does not change the game.

    Return, per label, the status, the scrubbed body and the stable headers.
    """
    game_path = f"{GAMES}/{game_id}"
    requests_by_label = {
        "view": ("GET", game_path, None),
        "list": ("GET", GAMES, None),
        "open-list": ("GET", f"{GAMES}?view=open", None),
        "turns": ("GET", f"{game_path}/turns?after=0&limit=100", None),
        "turns-page": ("GET", f"{game_path}/turns?after=0&limit=1", None),
        "chat": ("GET", chat_path(game_id), None),
        "chat-after": ("GET", f"{chat_path(game_id)}?after=0&limit=5", None),
        "chat-before": ("GET", f"{chat_path(game_id)}?before=2&limit=5", None),
        "wrong-turn": ("PUT", move_path(game_id, 99), {"move": {"throw": "rock"}}),
        "turn-zero": ("PUT", move_path(game_id, 0), {"move": {"throw": "rock"}}),
        # Over the 16 KiB of a lockstep move, and not a move of any other ruleset.
        "invalid-move": ("PUT", move_path(game_id, 1), {"move": "x" * 17 * 1024}),
        "missing-move": ("PUT", move_path(game_id, 1), {"mv": 1}),
        "bad-turns-query": ("GET", f"{game_path}/turns?after=-1", None),
        "bad-chat-query": ("GET", f"{chat_path(game_id)}?after=1&before=3", None),
        "method": ("DELETE", game_path, None),
        "join": ("POST", f"{game_path}/join", None),
    }
    observed = {}
    for label, (method, path, body) in requests_by_label.items():
        response = api.request(method, path, token, json=body)
        try:
            payload = scrub(response.json())
        except ValueError:
            payload = response.text
        headers = {
            name.lower(): value
            for name, value in response.headers.items()
            if name.lower() not in VOLATILE_HEADERS
        }
        observed[label] = {
            "status": response.status_code,
            "body": payload,
            "headers": headers,
        }
    return observed


def assert_unchanged(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for label in before:
        assert after[label] == before[label], label


@pytest.mark.parametrize("ruleset", sorted(FIRST_MOVES))
def test_rival_sees_only_that_move_is_in(api, ruleset):
    game, (first, second) = api.started_game(ruleset, 2)
    api.post(chat_path(game["id"]), second["token"], json={"text": "hi"})
    before = observe(api, second["token"], game["id"])

    response = api.move(first["token"], game["id"], 1, FIRST_MOVES[ruleset])

    assert response.status_code == 200, response.text
    assert response.json()["resolved"] is False
    after = observe(api, second["token"], game["id"])
    assert_unchanged(before, after)
    assert api.game(second["token"], game["id"])["submitted"] == [first["id"]]


@pytest.mark.parametrize("ruleset", sorted(FIRST_MOVES))
def test_outsider_sees_only_that_move_is_in(api, ruleset):
    game, (first, _second) = api.started_game(ruleset, 2)
    outsider = api.new_player()
    before = observe(api, outsider["token"], game["id"])

    response = api.move(first["token"], game["id"], 1, FIRST_MOVES[ruleset])

    assert response.status_code == 200, response.text
    after = observe(api, outsider["token"], game["id"])
    assert_unchanged(before, after)


def test_replacing_move_changes_nothing_visible(api):
    game, (first, second) = api.started_game("lockstep", 2)
    assert api.move(first["token"], game["id"], 1, {"v": 1}).status_code == 200
    before = observe(api, second["token"], game["id"])

    response = api.move(first["token"], game["id"], 1, {"v": 2})

    assert response.status_code == 200, response.text
    assert_unchanged(before, observe(api, second["token"], game["id"]))


# -- the secret string in responses the other file does not request ---------


@pytest.fixture
def secret_game(api):
    """A three-seat lockstep game at turn 1 with seat 0's secret move in."""
    game, players = api.started_game("lockstep", 3)
    secret = f"okapi-{uuid.uuid4()}"
    response = api.move(players[0]["token"], game["id"], 1, {"secret": secret})
    assert response.status_code == 200, response.text
    return game, players, secret


def assert_secret_absent(responses: dict, secret: str) -> None:
    for label, response in responses.items():
        assert secret not in response.content.decode("utf-8", "replace"), label
        for name, value in response.headers.items():
            assert secret not in value, f"{label}: header {name}"


def test_error_bodies_hold_no_sealed_move(api, secret_game):
    game, (_first, second, _third), secret = secret_game
    token = second["token"]
    game_path = f"{GAMES}/{game['id']}"

    responses = {
        "unknown-game": api.get(f"{GAMES}/{uuid.uuid4()}", token),
        "unknown-subpath": api.get(f"{game_path}/moves", token),
        "bad-uuid": api.get(f"{GAMES}/not-a-uuid", token),
        "move-get": api.get(move_path(game["id"], 1), token),
        "move-post": api.post(move_path(game["id"], 1), token, json={"move": 1}),
        "too-large": api.put(
            move_path(game["id"], 1),
            token,
            data=b'{"move": "' + b"a" * (65 * 1024) + b'"}',
            headers={"Content-Type": "application/json"},
        ),
        "malformed": api.put(
            move_path(game["id"], 1),
            token,
            data=b'{"move": ',
            headers={"Content-Type": "application/json"},
        ),
        "options": api.request("OPTIONS", game_path, token),
        "no-token": api.get(game_path),
        "bad-token": api.get(game_path, "not-a-token"),
        "schema": api.get("/api/v1/schema"),
    }

    assert responses["unknown-game"].status_code == 404
    assert responses["too-large"].status_code == 413
    assert responses["malformed"].status_code == 400
    assert_secret_absent(responses, secret)


def test_resign_response_holds_no_sealed_move(api, secret_game):
    game, (first, second, _third), secret = secret_game

    response = api.post(f"{GAMES}/{game['id']}/resign", second["token"])

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"
    assert response.json()["submitted"] == [first["id"]]
    assert_secret_absent({"resign": response}, secret)


def test_sealed_move_of_resigned_player_stays_sealed(api, secret_game):
    game, (first, second, third), secret = secret_game
    resigned = api.post(f"{GAMES}/{game['id']}/resign", first["token"])
    assert resigned.status_code == 200, resigned.text

    responses = {
        "view": api.get(f"{GAMES}/{game['id']}", second["token"]),
        "list": api.get(GAMES, third["token"]),
        "turns": api.get(f"{GAMES}/{game['id']}/turns", second["token"]),
    }

    assert_secret_absent(responses, secret)


def test_move_revealed_once_turn_resolves(api, secret_game):
    game, (first, second, third), secret = secret_game

    play_turn(api, game["id"], 1, [(second, "b"), (third, "c")])

    turns = api.get(f"{GAMES}/{game['id']}/turns", second["token"]).json()["turns"]
    assert turns[0]["moves"][first["id"]] == {"secret": secret}
