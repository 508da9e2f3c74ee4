"""Bad input: each case gets its JSON error, never a 500, and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.api.support import (
    MAX_BODY_BYTES,
    chat_path,
    expect_error,
    move_path,
    play_turn,
    send_raw,
    snapshot,
)

GAMES = "/api/v1/games"
PLAYERS = "/api/v1/players"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def padded(body: bytes, size: int) -> bytes:
    """Return `body` followed by JSON whitespace up to `size` bytes."""
    assert len(body) <= size
    return body + b" " * (size - len(body))


@pytest.fixture
def scene(api):
    """An active lockstep game with a resolved turn, a pending move and a chat line."""
    game, (first, second) = api.started_game("lockstep", 2)
    play_turn(api, game["id"], 1, [(first, {"t": 1}), (second, {"t": 1})])
    assert api.move(first["token"], game["id"], 2, {"t": 2}).status_code == 200
    response = api.post(chat_path(game["id"]), second["token"], json={"text": "hi"})
    assert response.status_code == 201
    return {"game": game["id"], "first": first, "second": second}


def world(api, scene) -> dict:
    """Return everything a rejected request must leave as it was."""
    first, second = scene["first"], scene["second"]
    return {
        "first": snapshot(api, first["token"], scene["game"]),
        "second": snapshot(api, second["token"], scene["game"]),
        "first_games": api.get(GAMES, first["token"]).json(),
        "second_games": api.get(GAMES, second["token"]).json(),
    }


def route(scene, endpoint: str) -> tuple[str, str, str | None]:
    """Return method, path and token of a body-taking endpoint in the scene."""
    token = scene["second"]["token"]
    return {
        "players": ("POST", PLAYERS, None),
        "games": ("POST", GAMES, token),
        "move": ("PUT", move_path(scene["game"], 2), token),
        "chat": ("POST", chat_path(scene["game"]), token),
    }[endpoint]


ENDPOINTS = ["players", "games", "move", "chat"]

# Bodies that no endpoint accepts: (id, raw body, status, code).
BROKEN_BODIES = [
    ("unclosed", b'{"text": ', 400, "malformed_json"),
    ("truncated", b'{"move": {"a": [1, 2', 400, "malformed_json"),
    ("trailing-garbage", b'{"text": "x"} x', 400, "malformed_json"),
    ("two-objects", b'{"text": "x"}{"text": "y"}', 400, "malformed_json"),
    ("single-quotes", b"{'text': 'x'}", 400, "malformed_json"),
    ("trailing-comma", b'{"text": "x",}', 400, "malformed_json"),
    ("comment", b'{"text": "x" /* hi */}', 400, "malformed_json"),
    ("bare-word", b"hello", 400, "malformed_json"),
    ("invalid-utf8", b'{"text": "\xff\xfe", "name": "\xff"}', 400, "malformed_json"),
    (
        "overlong-utf8",
        b'{"text": "\xc0\xaf", "name": "\xc0\xaf"}',
        400,
        "malformed_json",
    ),
    (
        "cesu-surrogate",
        b'{"text": "\xed\xa0\x80", "name": "\xed\xa0\x80"}',
        400,
        "malformed_json",
    ),
    ("utf16", '{"text": "x", "name": "x"}'.encode("utf-16"), 400, "malformed_json"),
    (
        "nan",
        b'{"move": NaN, "text": NaN, "name": NaN, "seats": NaN}',
        400,
        "malformed_json",
    ),
    ("infinity", b'{"move": Infinity, "seats": Infinity}', 400, "malformed_json"),
    (
        "minus-infinity",
        b'{"move": -Infinity, "seats": -Infinity}',
        400,
        "malformed_json",
    ),
    (
        "5000-digits",
        b'{"move": 1' + b"0" * 5000 + b', "seats": 2}',
        400,
        "malformed_json",
    ),
    ("nested-32000", b'{"move": ' + nested(32000) + b"}", 400, "invalid_request"),
    ("array", b'[{"text": "x"}]', 400, "invalid_request"),
    ("empty-array", b"[]", 400, "invalid_request"),
    ("string", b'"hello"', 400, "invalid_request"),
    ("number", b"42", 400, "invalid_request"),
    ("null", b"null", 400, "invalid_request"),
    ("true", b"true", 400, "invalid_request"),
    ("empty", b"", 400, "invalid_request"),
    ("whitespace", b"  \n ", 400, "invalid_request"),
    ("empty-object", b"{}", 400, "invalid_request"),
    ("nested-100000", nested(100_000), 413, "payload_too_large"),
    (
        "over-64k",
        padded(b'{"text": "x"}', MAX_BODY_BYTES + 1),
        413,
        "payload_too_large",
    ),
    ("1mb", b'{"text": "' + b"x" * 1_000_000 + b'"}', 413, "payload_too_large"),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in BROKEN_BODIES],
    ids=[case[0] for case in BROKEN_BODIES],
)
def test_broken_body_rejected(api, scene, endpoint, body, status, code):
    method, path, token = route(scene, endpoint)
    before = world(api, scene)

    response = send_raw(api, method, path, token, body)

    expect_error(response, status, code)
    assert world(api, scene) == before


def test_too_large_details_name_limit(api, scene):
    method, path, token = route(scene, "chat")

    response = send_raw(api, method, path, token, b"{" + b" " * MAX_BODY_BYTES + b"}")

    details = expect_error(response, 413, "payload_too_large")
    assert details["limit"] == MAX_BODY_BYTES


def test_body_of_exactly_64k_accepted(api, scene):
    method, path, token = route(scene, "chat")
    body = padded(b'{"text": "exactly 64 KiB"}', MAX_BODY_BYTES)

    response = send_raw(api, method, path, token, body)

    assert response.status_code == 201
    assert response.json()["text"] == "exactly 64 KiB"


def chunks(body: bytes, size: int = 4096):
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_chunked_body_over_64k_is_413(api, scene, endpoint):
    method, path, token = route(scene, endpoint)
    before = world(api, scene)
    body = b'{"name": "x", "text": "' + b"x" * 70_000 + b'"}'

    response = api.request(
        method,
        path,
        token,
        data=chunks(body),
        headers={"Content-Type": "application/json"},
    )

    expect_error(response, 413, "payload_too_large")
    assert world(api, scene) == before


def test_chunked_body_within_limit_accepted(api, scene):
    method, path, token = route(scene, "chat")
    body = json.dumps({"text": "sent in chunks " + "é" * 1000}).encode("utf-8")

    response = api.request(
        method,
        path,
        token,
        data=chunks(body, 100),
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 201
    assert response.json()["text"] == "sent in chunks " + "é" * 1000


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        None,
    ],
)
def test_any_content_type_read_as_json(api, scene, content_type):
    method, path, token = route(scene, "chat")

    response = send_raw(
        api, method, path, token, b'{"text": "typed"}', **{"Content-Type": content_type}
    )

    assert response.status_code == 201
    assert response.json()["text"] == "typed"


# Well-formed JSON with a bad field: (endpoint, id, raw body, status, code, field).
BAD_FIELDS = [
    ("players", "name-surrogate", b'{"name": "\\ud800"}', "name"),
    ("players", "name-low-surrogate", b'{"name": "Ada\\udc00"}', "name"),
    ("players", "key-surrogate", b'{"name": "Ada", "\\ud800": 1}', "\\ud800"),
    ("players", "name-41", json.dumps({"name": "é" * 41}).encode(), "name"),
    ("players", "name-int", b'{"name": 10000000000000000000000000000000}', "name"),
    ("games", "ruleset-surrogate", b'{"ruleset": "rps\\ud800", "seats": 2}', "ruleset"),
    ("games", "ruleset-unknown", b'{"ruleset": "chess", "seats": 2}', "ruleset"),
    ("games", "ruleset-type", b'{"ruleset": {"name": "rps"}, "seats": 2}', "ruleset"),
    (
        "games",
        "option-key-surrogate",
        b'{"ruleset": "rps", "options": {"\\udfff": 1}}',
        "options.\\udfff",
    ),
    (
        "games",
        "option-value-surrogate",
        b'{"ruleset": "rps", "options": {"on_timeout": "\\ud800"}}',
        "options.on_timeout",
    ),
    (
        "games",
        "seats-10e400",
        b'{"ruleset": "rps", "seats": 1' + b"0" * 400 + b"}",
        "seats",
    ),
    ("games", "seats-minus-1", b'{"ruleset": "rps", "seats": -1}', "seats"),
    ("games", "seats-1e308", b'{"ruleset": "rps", "seats": 1e308}', "seats"),
    (
        "games",
        "seats-2-63",
        b'{"ruleset": "lockstep", "seats": 9223372036854775808}',
        "seats",
    ),
    ("games", "seats-2.0", b'{"ruleset": "rps", "seats": 2.0}', "seats"),
    ("games", "seats-string", b'{"ruleset": "rps", "seats": "2"}', "seats"),
    ("games", "seats-null-ruleset", b'{"ruleset": null, "seats": 2}', "ruleset"),
    (
        "games",
        "rounds-10e400",
        b'{"ruleset": "rps", "options": {"rounds": 1' + b"0" * 400 + b"}}",
        "options.rounds",
    ),
    (
        "games",
        "rounds-minus-1",
        b'{"ruleset": "rps", "options": {"rounds": -1}}',
        "options.rounds",
    ),
    (
        "games",
        "width-2-63",
        b'{"ruleset": "lightcycles", "options": {"width": 9223372036854775808}}',
        "options.width",
    ),
    (
        "games",
        "max-turns-1e308",
        b'{"ruleset": "lockstep", "options": {"max_turns": 1e308}}',
        "options.max_turns",
    ),
    (
        "games",
        "turn-seconds-huge",
        b'{"ruleset": "lockstep", "options": {"turn_seconds": 1' + b"0" * 400 + b"}}",
        "options.turn_seconds",
    ),
    ("games", "options-list", b'{"ruleset": "rps", "options": [1]}', "options"),
    ("move", "move-surrogate", b'{"move": "\\ud800"}', "move"),
    ("move", "move-key-surrogate", b'{"move": {"\\ud800": 1}}', "move.\\ud800"),
    (
        "move",
        "move-deep-surrogate",
        b'{"move": {"a": [1, {"b": "x\\udc00"}]}}',
        "move.a[1].b",
    ),
    ("move", "move-missing", b'{"mov": 1}', "move"),
    ("chat", "text-surrogate", b'{"text": "\\ud800"}', "text"),
    (
        "chat",
        "client-id-surrogate",
        b'{"text": "x", "client_id": "\\ud800"}',
        "client_id",
    ),
    ("chat", "text-type", b'{"text": 1e308}', "text"),
    ("chat", "text-null", b'{"text": null}', "text"),
    ("chat", "client-id-type", b'{"text": "x", "client_id": 12}', "client_id"),
    (
        "chat",
        "client-id-65",
        json.dumps({"text": "x", "client_id": "😀" * 65}).encode(),
        "client_id",
    ),
]


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [(case[0], case[2], case[3]) for case in BAD_FIELDS],
    ids=[f"{case[0]}-{case[1]}" for case in BAD_FIELDS],
)
def test_bad_field_is_400(api, scene, endpoint, body, field):
    method, path, token = route(scene, endpoint)
    before = world(api, scene)

    response = send_raw(api, method, path, token, body)

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == field
    assert world(api, scene) == before


def test_chat_text_2001_is_text_too_long(api, scene):
    method, path, token = route(scene, "chat")
    before = world(api, scene)
    body = json.dumps({"text": "🦓" * 2001}, ensure_ascii=False).encode("utf-8")

    response = send_raw(api, method, path, token, body)

    details = expect_error(response, 400, "text_too_long")
    assert details["limit"] == 2000
    assert world(api, scene) == before


@pytest.mark.parametrize(
    "move",
    ["x" * 16_382, "é" * 8_191, ["€" * 5_460]],
    ids=["ascii", "two-byte", "three-byte"],
)
def test_lockstep_move_of_16k_accepted(api, scene, move):
    assert (
        len(json.dumps(move, ensure_ascii=False, separators=(",", ":")).encode())
        <= 16_384
    )

    response = api.move(scene["second"]["token"], scene["game"], 2, move)

    assert response.status_code == 200
    assert response.json()["resolved"] is True
    turn = api.get(f"{GAMES}/{scene['game']}/turns?after=1", scene["first"]["token"])
    assert turn.json()["turns"][0]["moves"][scene["second"]["id"]] == move


@pytest.mark.parametrize(
    "move",
    ["x" * 16_383, "é" * 8_192, ["€" * 5_461], {"k": "😀" * 4_096}],
    ids=["ascii", "two-byte", "three-byte", "emoji"],
)
def test_lockstep_move_over_16k_is_invalid(api, scene, move):
    before = world(api, scene)

    response = api.move(scene["second"]["token"], scene["game"], 2, move)

    details = expect_error(response, 400, "invalid_move")
    assert details["limit"] == 16_384
    assert world(api, scene) == before


def test_lockstep_move_1e400_is_malformed(api, scene):
    before = world(api, scene)

    response = send_raw(
        api,
        "PUT",
        move_path(scene["game"], 2),
        scene["second"]["token"],
        b'{"move": 1e400}',
    )

    expect_error(response, 400, "malformed_json")
    assert world(api, scene) == before


def test_game_seats_1e400_is_malformed(api, scene):
    response = send_raw(
        api,
        "POST",
        "/api/v1/games",
        scene["second"]["token"],
        b'{"ruleset": "rps", "seats": 1e400}',
    )

    expect_error(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "raw",
    [b"1" + b"0" * 400, b"-1", b"1e308", b"9223372036854775808", b"-0", b"0.1"],
    ids=["10e400", "minus-1", "1e308", "2-63", "minus-0", "fraction"],
)
def test_lockstep_move_numbers_round_trip(api, scene, raw):
    response = send_raw(
        api,
        "PUT",
        move_path(scene["game"], 2),
        scene["second"]["token"],
        b'{"move": ' + raw + b"}",
    )

    assert response.status_code == 200
    turns = api.get(f"{GAMES}/{scene['game']}/turns?after=1", scene["first"]["token"])
    assert turns.json()["turns"][0]["moves"][scene["second"]["id"]] == json.loads(raw)


def test_move_nested_to_the_limit_round_trips(api, scene):
    # The move is one level below the body, so 63 levels of arrays reach 64.
    body = b'{"move": ' + nested(63) + b"}"

    response = send_raw(
        api, "PUT", move_path(scene["game"], 2), scene["second"]["token"], body
    )

    assert response.status_code == 200
    turns = api.get(f"{GAMES}/{scene['game']}/turns?after=1", scene["first"]["token"])
    assert turns.status_code == 200
    assert turns.json()["turns"][0]["moves"][scene["second"]["id"]] == json.loads(
        nested(63)
    )


@pytest.mark.parametrize("depth", [64, 500, 965])
def test_move_nested_too_deep_is_400(api, scene, depth):
    before = world(api, scene)
    body = b'{"move": ' + nested(depth) + b"}"

    response = send_raw(
        api, "PUT", move_path(scene["game"], 2), scene["second"]["token"], body
    )

    details = expect_error(response, 400, "invalid_request")
    assert details["limit"] == 64
    assert world(api, scene) == before


@pytest.mark.parametrize(
    "turn",
    ["99999999999999999999999", str(2**63), str(2**31), "3"],
)
def test_huge_turn_in_path_is_wrong_turn(api, scene, turn):
    before = world(api, scene)

    response = api.put(
        move_path(scene["game"], turn), scene["second"]["token"], json={"move": 1}
    )

    details = expect_error(response, 409, "wrong_turn")
    assert details["turn"] == 2
    assert details["status"] == "active"
    assert world(api, scene) == before


@pytest.mark.parametrize("turn", ["-1", "abc", "1e3", "", "%E2%91%A0"])
def test_turn_in_path_not_digits_is_404(api, scene, turn):
    before = world(api, scene)

    response = api.put(
        move_path(scene["game"], turn), scene["second"]["token"], json={"move": 1}
    )

    expect_error(response, 404, "not_found")
    assert world(api, scene) == before


@pytest.mark.parametrize(
    "query",
    ["view=Open", "view=open%00", "view=%ED%A0%80", "view=" + "x" * 3000],
)
def test_bad_view_query_is_400(api, scene, query):
    response = api.get(f"{GAMES}?{query}", scene["first"]["token"])

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "view"


@pytest.mark.parametrize("param", ["after", "before", "limit"])
@pytest.mark.parametrize(
    "value",
    ["-1", "99999999999999999999999", "ten", "", "1.5", "0x10", "%ED%A0%80", "1%00"],
)
def test_bad_chat_query_is_400(api, scene, param, value):
    response = api.get(
        f"{chat_path(scene['game'])}?{param}={value}", scene["first"]["token"]
    )

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == param


@pytest.mark.parametrize("param", ["after", "limit"])
@pytest.mark.parametrize(
    "value", ["-1", "99999999999999999999999", "ten", "", "1.5", "%ED%A0%80"]
)
def test_bad_turns_query_is_400(api, scene, param, value):
    path = f"{GAMES}/{scene['game']}/turns?{param}={value}"

    response = api.get(path, scene["first"]["token"])

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == param


def test_client_sent_at_is_ignored(api, scene):
    body = {"text": "from the past", "sent_at": "1999-01-01T00:00:00Z"}

    response = api.post(chat_path(scene["game"]), scene["first"]["token"], json=body)

    assert response.status_code == 201
    assert not response.json()["sent_at"].startswith("1999")


def test_client_fields_in_game_create_are_ignored(api, scene):
    body = {
        "ruleset": "rps",
        "seats": 2,
        "status": "finished",
        "turn": 9,
        "version": 1000,
        "created_at": "1999-01-01T00:00:00Z",
        "players": [],
    }

    response = api.post(GAMES, scene["first"]["token"], json=body)

    view = response.json()
    assert response.status_code == 201
    assert view["status"] == "waiting"
    assert view["turn"] == 0
    assert view["version"] < 1000
    assert not view["updated_at"].startswith("1999")
    assert [p["id"] for p in view["players"]] == [scene["first"]["id"]]


def test_unicode_path_is_404(api, scene):
    response = api.get("/api/v1/g\u00e4mes", scene["first"]["token"])

    expect_error(response, 404, "not_found")
