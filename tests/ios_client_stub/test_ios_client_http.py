"""LockstepClient against the scripted HTTP server of scripted_http.py."""

import logging
import random
import socket

import pytest
import requests

from ios_client_stub.client import LockstepClient
from ios_client_stub.errors import ApiError, PollTimeout
from ios_client_stub.retry import RetryPolicy
from tests.ios_client_stub.scripted_http import Reply

TOKEN = "tok-7f3a9c-secret"
GAME = "0b9f5a4e-8d2c-4f7e-9a61-3c2d1e0f4b5a"


def make_client(server, fake_clock, timeout=2.0, max_tries=4):
    retry = RetryPolicy(
        max_tries=max_tries,
        jitter=0.0,
        sleep=fake_clock.sleep,
        clock=fake_clock,
        rng=random.Random(0),
    )
    return LockstepClient(
        server.url,
        token=TOKEN,
        timeout=timeout,
        sleep=fake_clock.sleep,
        clock=fake_clock,
        retry=retry,
    )


def game_view(version, turn=1, status="active", **extra):
    view = {
        "id": GAME,
        "ruleset": "rps",
        "status": status,
        "turn": turn,
        "submitted": [],
        "chat_seq": 0,
        "version": version,
    }
    view.update(extra)
    return view


def etag_reply(version, poll_interval=None, **view_fields):
    headers = {"ETag": f'"{version}"'}
    if poll_interval is not None:
        headers["X-Poll-Interval"] = str(poll_interval)
    return Reply(200, game_view(version, **view_fields), headers)


def not_modified(version, poll_interval=None):
    headers = {"ETag": f'"{version}"'}
    if poll_interval is not None:
        headers["X-Poll-Interval"] = str(poll_interval)
    return Reply(304, headers=headers)


def unavailable(retry_after="1"):
    body = {"error": {"code": "unavailable", "message": "Lock busy.", "details": {}}}
    return Reply(503, body, {"Retry-After": retry_after})


# Requests and errors


def test_register_stores_token_and_sends_utf8(scripted_server, fake_clock):
    scripted_server.add(Reply(201, {"id": "p1", "name": "Zoë 🎲", "token": TOKEN}))
    client = LockstepClient(
        scripted_server.url, clock=fake_clock, sleep=fake_clock.sleep
    )

    player = client.register("Zoë 🎲")

    request = scripted_server.requests[0]
    assert request.method == "POST"
    assert request.path == "/api/v1/players"
    assert "Authorization" not in request.headers
    assert "Zoë 🎲".encode() in request.body
    assert request.json() == {"name": "Zoë 🎲"}
    assert player["id"] == "p1"
    assert client.token == TOKEN
    assert client.player_id == "p1"


def test_requests_carry_bearer_token(scripted_server, fake_clock):
    scripted_server.add(Reply(200, {"id": "p1", "name": "Ada"}))
    client = make_client(scripted_server, fake_clock)

    client.me()

    request = scripted_server.requests[0]
    assert request.path == "/api/v1/players/me"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_call_without_token_raises():
    client = LockstepClient("http://127.0.0.1:9")

    with pytest.raises(RuntimeError, match="register"):
        client.me()


def test_error_response_raises_api_error(scripted_server, fake_clock):
    body = {
        "error": {
            "code": "wrong_turn",
            "message": "Turn 5 is not open yet.",
            "details": {"turn": 4, "status": "active"},
        }
    }
    scripted_server.add(Reply(409, body))
    client = make_client(scripted_server, fake_clock)

    with pytest.raises(ApiError) as caught:
        client.submit_move(GAME, 5, {"throw": "rock"})

    error = caught.value
    assert error.status == 409
    assert error.code == "wrong_turn"
    assert error.details == {"turn": 4, "status": "active"}
    assert error.method == "PUT"
    assert error.path == f"/api/v1/games/{GAME}/turns/5/move"
    assert len(scripted_server.requests) == 1


def test_game_id_is_escaped_in_path(scripted_server, fake_clock):
    scripted_server.add(Reply(200, {"turns": [], "next_after": 0}))
    client = make_client(scripted_server, fake_clock)

    client.list_turns("../players/me", after=3, limit=5)

    path = scripted_server.requests[0].path
    assert path == "/api/v1/games/..%2Fplayers%2Fme/turns?after=3&limit=5"


def test_create_and_list_games(scripted_server, fake_clock):
    scripted_server.add(
        Reply(201, game_view(1, turn=0, status="waiting")),
        Reply(200, {"games": [{"id": GAME, "ruleset": "rps"}]}),
    )
    client = make_client(scripted_server, fake_clock)

    client.create_game("rps", options={"rounds": 5})
    games = client.list_games(view="open")

    create, listing = scripted_server.requests
    assert create.json() == {"ruleset": "rps", "seats": 2, "options": {"rounds": 5}}
    assert listing.path == "/api/v1/games?view=open"
    assert games == [{"id": GAME, "ruleset": "rps"}]


# ETags


def test_get_game_sends_if_none_match(scripted_server, fake_clock):
    scripted_server.add(etag_reply(7), not_modified(7, poll_interval=1.5))
    client = make_client(scripted_server, fake_clock)

    first = client.get_game(GAME)
    second = client.get_game(GAME)

    assert "If-None-Match" not in scripted_server.requests[0].headers
    assert scripted_server.requests[1].headers["If-None-Match"] == '"7"'
    assert first.changed
    assert not first.not_modified
    assert not second.changed
    assert second.not_modified
    assert second.body == first.body
    assert second.poll_interval == 1.5
    assert client.stats["not_modified"] == 1


def test_get_game_new_version_replaces_cache(scripted_server, fake_clock):
    scripted_server.add(etag_reply(7), etag_reply(8, turn=2), etag_reply(8, turn=2))
    client = make_client(scripted_server, fake_clock)

    client.get_game(GAME)
    second = client.get_game(GAME)
    client.get_game(GAME)

    assert second.changed
    assert second.body["turn"] == 2
    assert scripted_server.requests[2].headers["If-None-Match"] == '"8"'


def test_unexpected_304_raises(scripted_server, fake_clock):
    scripted_server.add(Reply(304))
    client = make_client(scripted_server, fake_clock)

    with pytest.raises(ApiError, match="without If-None-Match"):
        client.get_game(GAME)


def test_chat_queries_and_etags(scripted_server, fake_clock):
    page = {"messages": [{"seq": 4, "player": "p1", "text": "hi"}], "next_after": 4}
    scripted_server.add(
        Reply(200, page, {"ETag": '"12"'}),
        Reply(304, headers={"ETag": '"12"'}),
        Reply(200, {"messages": [], "next_after": 3}, {"ETag": '"12"'}),
        Reply(200, {"messages": [], "next_after": 4}, {"ETag": '"12"'}),
    )
    client = make_client(scripted_server, fake_clock)

    latest = client.chat_latest(GAME, limit=1)
    again = client.chat_latest(GAME, limit=1)
    client.chat_before(GAME, before=4, limit=3)
    client.chat_after(GAME, after=4)

    paths = [request.path for request in scripted_server.requests]
    chat = f"/api/v1/games/{GAME}/chat"
    assert paths == [
        f"{chat}?limit=1",
        f"{chat}?limit=1",
        f"{chat}?before=4&limit=3",
        f"{chat}?after=4&limit=50",
    ]
    assert scripted_server.requests[1].headers["If-None-Match"] == '"12"'
    # Each cursor is its own resource, so a new cursor sends no If-None-Match.
    assert "If-None-Match" not in scripted_server.requests[2].headers
    assert again.not_modified
    assert again.body == latest.body


# Retries


def test_get_retries_after_503_with_retry_after(scripted_server, fake_clock):
    scripted_server.add(unavailable(retry_after="3"), etag_reply(2))
    client = make_client(scripted_server, fake_clock)

    snapshot = client.get_game(GAME)

    assert snapshot.body["version"] == 2
    assert len(scripted_server.requests) == 2
    assert fake_clock.sleeps == pytest.approx([3.0])
    assert client.stats["retries"] == 1


def test_get_gives_up_after_max_tries(scripted_server, fake_clock):
    scripted_server.add(*[unavailable(retry_after="0")] * 5)
    client = make_client(scripted_server, fake_clock, max_tries=3)

    with pytest.raises(ApiError) as caught:
        client.get_game(GAME)

    assert caught.value.status == 503
    assert caught.value.code == "unavailable"
    assert len(scripted_server.requests) == 3


def test_get_retries_after_read_timeout(scripted_server, fake_clock):
    scripted_server.add(Reply(200, game_view(1), delay=1.0), etag_reply(1))
    client = make_client(scripted_server, fake_clock, timeout=0.3)

    snapshot = client.get_game(GAME)

    assert snapshot.body["version"] == 1
    assert len(scripted_server.requests) == 2


def test_move_put_retried_after_read_timeout(scripted_server, fake_clock):
    result = {"turn": 3, "resolved": True, "game": game_view(9, turn=4)}
    scripted_server.add(Reply(200, result, delay=1.0), Reply(200, result))
    client = make_client(scripted_server, fake_clock, timeout=0.3)

    response = client.submit_move(GAME, 3, {"throw": "paper"})

    first, second = scripted_server.requests
    assert response["resolved"] is True
    assert first.method == second.method == "PUT"
    assert first.path == f"/api/v1/games/{GAME}/turns/3/move"
    assert first.body == second.body
    assert first.json() == {"move": {"throw": "paper"}}


def test_register_not_retried_after_read_timeout(scripted_server, fake_clock):
    scripted_server.add(
        Reply(201, {"id": "p1", "name": "Ada", "token": TOKEN}, delay=1.0)
    )
    client = LockstepClient(
        scripted_server.url, timeout=0.3, sleep=fake_clock.sleep, clock=fake_clock
    )

    with pytest.raises(requests.ReadTimeout):
        client.register("Ada")

    assert len(scripted_server.requests) == 1
    assert client.token is None


def test_create_game_not_retried_after_plain_503(scripted_server, fake_clock):
    scripted_server.add(Reply(503, b"proxy says no"), Reply(201, game_view(1)))
    client = make_client(scripted_server, fake_clock)

    with pytest.raises(ApiError) as caught:
        client.create_game("rps")

    assert caught.value.status == 503
    assert caught.value.code is None
    assert len(scripted_server.requests) == 1


def test_create_game_retried_after_unavailable(scripted_server, fake_clock):
    # The API promises that a 503 "unavailable" wrote nothing.
    scripted_server.add(
        unavailable(), Reply(201, game_view(1, turn=0, status="waiting"))
    )
    client = make_client(scripted_server, fake_clock)

    view = client.create_game("rps")

    assert view["status"] == "waiting"
    assert len(scripted_server.requests) == 2


def test_chat_retry_keeps_client_id(scripted_server, fake_clock):
    line = {"seq": 5, "player": "p1", "text": "gg", "sent_at": "2025-01-01T00:00:00Z"}
    scripted_server.add(Reply(201, line, delay=1.0), Reply(200, line))
    client = make_client(scripted_server, fake_clock, timeout=0.3)

    post = client.post_chat(GAME, "gg")

    first, second = scripted_server.requests
    assert first.json()["client_id"] == post.client_id
    assert second.json()["client_id"] == post.client_id
    assert len(post.client_id) <= 64
    assert post.status == 200
    assert not post.created
    assert post.message["seq"] == 5


def test_chat_post_explicit_client_id(scripted_server, fake_clock):
    line = {"seq": 1, "player": "p1", "text": "Привет 👋", "sent_at": "x"}
    scripted_server.add(Reply(201, line))
    client = make_client(scripted_server, fake_clock)

    post = client.post_chat(GAME, "Привет 👋", client_id="c-17")

    assert scripted_server.requests[0].json() == {
        "text": "Привет 👋",
        "client_id": "c-17",
    }
    assert post.created
    assert post.client_id == "c-17"


def test_connection_refused_retried_for_get(fake_clock):
    # Bind and close a socket to find a port that refuses connections.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LockstepClient(
        f"http://127.0.0.1:{port}", sleep=fake_clock.sleep, clock=fake_clock
    )

    with pytest.raises(requests.ConnectionError):
        client.health()

    assert client.stats["requests"] == client.retry.max_tries


def test_token_never_logged(scripted_server, fake_clock, caplog):
    scripted_server.add(unavailable(retry_after="0"), etag_reply(1))
    client = make_client(scripted_server, fake_clock)

    with caplog.at_level(logging.DEBUG):
        client.get_game(GAME)

    assert "retrying GET" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)


# Polling


def test_poll_until_backs_off_and_resets(scripted_server, fake_clock):
    scripted_server.add(
        etag_reply(1, turn=1),
        not_modified(1),
        not_modified(1),
        not_modified(1),
        etag_reply(2, turn=1, submitted=["p2"]),
        not_modified(2),
        etag_reply(3, turn=2),
    )
    client = make_client(scripted_server, fake_clock)

    view = client.poll_until(GAME, lambda v: v["turn"] == 2)

    assert view["version"] == 3
    # Each change starts the doubling over at the first interval.
    assert fake_clock.sleeps == pytest.approx([0.2, 0.4, 0.8, 1.6, 0.2, 0.4])


def test_poll_until_caps_interval(scripted_server, fake_clock):
    scripted_server.add(etag_reply(1), *[not_modified(1)] * 6, etag_reply(2, turn=2))
    client = make_client(scripted_server, fake_clock)

    client.poll_until(GAME, lambda v: v["turn"] == 2, max_interval=1.0)

    assert fake_clock.sleeps == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0])


def test_poll_until_honours_poll_interval_header(scripted_server, fake_clock):
    scripted_server.add(
        etag_reply(1, poll_interval=5),
        not_modified(1, poll_interval=0.5),
        not_modified(1, poll_interval=0),
        etag_reply(2, turn=2),
    )
    client = make_client(scripted_server, fake_clock)

    client.poll_until(GAME, lambda v: v["turn"] == 2)

    # A suggestion of 0 is raised to the 0.05 s floor.
    assert fake_clock.sleeps == pytest.approx([5.0, 0.5, 0.05])


def test_poll_until_times_out(scripted_server, fake_clock):
    scripted_server.add(etag_reply(4), *[not_modified(4)] * 20)
    client = make_client(scripted_server, fake_clock)

    with pytest.raises(PollTimeout) as caught:
        client.poll_until(GAME, lambda v: v["turn"] == 2, max_wait=3.0)

    assert caught.value.game_id == GAME
    assert caught.value.last_view["version"] == 4
    assert sum(fake_clock.sleeps) == pytest.approx(3.0)


def test_poll_until_returns_matching_view_at_once(scripted_server, fake_clock):
    scripted_server.add(etag_reply(3, status="finished"))
    client = make_client(scripted_server, fake_clock)

    view = client.poll_until(GAME, lambda v: v["status"] == "finished")

    assert view["status"] == "finished"
    assert fake_clock.sleeps == []


def test_non_json_body_raises_api_error(scripted_server, fake_clock):
    scripted_server.add(Reply(200, b"not json", {"ETag": '"1"'}))
    client = make_client(scripted_server, fake_clock)

    with pytest.raises(ApiError, match="not valid JSON"):
        client.get_game(GAME)


def test_wait_parameter_on_game_view(scripted_server, fake_clock):
    scripted_server.add(etag_reply(1), not_modified(1))
    client = make_client(scripted_server, fake_clock)

    client.get_game(GAME)
    snapshot = client.get_game(GAME, wait=10)

    request = scripted_server.requests[1]
    assert request.path == f"/api/v1/games/{GAME}?wait=10"
    assert request.headers["If-None-Match"] == '"1"'
    assert snapshot.not_modified


def test_health_needs_no_token(scripted_server, fake_clock):
    scripted_server.add(Reply(200, {"storage": "ok", "locks": "ok"}))
    client = LockstepClient(
        scripted_server.url, sleep=fake_clock.sleep, clock=fake_clock
    )

    assert client.health() == {"storage": "ok", "locks": "ok"}
    assert "Authorization" not in scripted_server.requests[0].headers
