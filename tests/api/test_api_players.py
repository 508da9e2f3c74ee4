"""Players: registration, names, /players/me and bearer authentication."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.api.support import expect_error

PLAYERS = "/api/v1/players"
ME = "/api/v1/players/me"
URL_SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def test_create_player_returns_201(api):
    response = api.post(PLAYERS, json={"name": "Ada"})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "token"}
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert body["name"] == "Ada"


def test_token_has_128_bits_or_more(api):
    tokens = [api.new_player()["token"] for _ in range(3)]

    for token in tokens:
        assert URL_SAFE_TOKEN.fullmatch(token), token
        # 22 url-safe base64 characters carry 132 bits.
        assert len(token) >= 22, token
    assert len(set(tokens)) == 3


def test_players_get_distinct_ids(api):
    first = api.new_player("Twin")
    second = api.new_player("Twin")

    assert first["id"] != second["id"]
    assert first["token"] != second["token"]


def test_name_is_trimmed(api):
    player = api.new_player("  \tGrace Hopper \n ")

    assert player["name"] == "Grace Hopper"


@pytest.mark.parametrize(
    "name",
    ["Ада Лавлейс", "エイダ", "أدا", "עדה", "Ἀδά", "🦓🎲", "a", "x" * 40],
    ids=["cyrillic", "japanese", "arabic", "hebrew", "greek", "emoji", "one", "forty"],
)
def test_name_any_script_accepted(api, name):
    player = api.new_player(name)

    assert player["name"] == name
    me = api.get(ME, player["token"])
    assert me.json()["name"] == name


def test_name_40_chars_after_trimming(api):
    player = api.new_player("   " + "n" * 40 + "   ")

    assert player["name"] == "n" * 40


def test_name_40_emoji_accepted(api):
    name = "😀" * 40

    player = api.new_player(name)

    assert player["name"] == name


def test_name_41_emoji_rejected(api):
    response = api.post(PLAYERS, json={"name": "😀" * 41})

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "name"


def test_name_41_chars_rejected(api):
    response = api.post(PLAYERS, json={"name": "n" * 41})

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "name"


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "   "},
        {"name": "\t\n"},
        {},
        {"name": None},
        {"name": 5},
        {"name": 1.5},
        {"name": True},
        {"name": ["Ada"]},
        {"name": {"first": "Ada"}},
        {"name": "Ada\x00Lovelace"},
    ],
    ids=[
        "empty",
        "spaces",
        "whitespace",
        "missing",
        "null",
        "int",
        "float",
        "bool",
        "list",
        "object",
        "control-char",
    ],
)
def test_bad_name_rejected(api, body):
    response = api.post(PLAYERS, json=body)

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "name"


def test_players_me_returns_id_and_name(api):
    player = api.new_player("Me Myself")

    response = api.get(ME, player["token"])

    assert response.status_code == 200
    assert response.json() == {"id": player["id"], "name": "Me Myself"}


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer unknown-token-0000000000000000000",
        "Bearer ",
        "Bearer",
        "Bearer a b",
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        "Token abc",
        "bearer-abc",
    ],
    ids=[
        "missing",
        "unknown",
        "empty-token",
        "scheme-only",
        "two-tokens",
        "basic",
        "token-scheme",
        "no-space",
    ],
)
def test_bad_authorization_is_401(api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}

    response = api.get(ME, headers=headers)

    expect_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_non_ascii_token_is_401(api):
    response = api.get(ME, headers={"Authorization": "Bearer é".encode("latin-1")})

    expect_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_of_other_case_is_401(api):
    player = api.new_player()
    token = player["token"]
    changed = token.swapcase()
    if changed == token:
        pytest.skip("token has no letters")

    response = api.get(ME, changed)

    expect_error(response, 401, "not_authenticated")


def test_bearer_scheme_is_case_insensitive(api):
    player = api.new_player()

    response = api.get(ME, headers={"Authorization": f"bearer {player['token']}"})

    assert response.status_code == 200
    assert response.json()["id"] == player["id"]


GAME = "/api/v1/games/00000000-0000-4000-8000-000000000000"
AUTHENTICATED_ROUTES = [
    ("GET", ME),
    ("GET", "/api/v1/games"),
    ("GET", "/api/v1/games?view=open"),
    ("POST", "/api/v1/games"),
    ("GET", GAME),
    ("POST", f"{GAME}/join"),
    ("POST", f"{GAME}/resign"),
    ("GET", f"{GAME}/turns"),
    ("PUT", f"{GAME}/turns/1/move"),
    ("GET", f"{GAME}/chat"),
    ("POST", f"{GAME}/chat"),
]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_ROUTES)
def test_route_without_token_is_401(api, method, path):
    response = api.request(method, path, json={})

    expect_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_ROUTES)
def test_route_with_unknown_token_is_401(api, method, path):
    response = api.request(method, path, "no-such-token", json={})

    expect_error(response, 401, "not_authenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_needs_no_token(api):
    response = api.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json() == {"storage": "ok", "locks": "ok"}
