"""Waiting polls (`?wait=S`) and X-Poll-Interval on the game view and the chat."""

from __future__ import annotations

import threading
import time

import pytest

from games.presenters import POLL_LONG, POLL_QUIET, POLL_SOON
from tests.helpers import assert_error

# The API promises that a waiting client sees a rival's move this many
# seconds after it was committed.
SEEN_WITHIN = 1.0


def game_path(game_id: str) -> str:
    return f"/api/v1/games/{game_id}"


def chat_path(game_id: str) -> str:
    return f"/api/v1/games/{game_id}/chat"


class Waiter(threading.Thread):
    """Sends one GET in the background and records its response and end time.

    `api` is a client of its own, closed when the request is done.
    """

    def __init__(self, api, path: str, token: str, headers: dict | None = None):
        super().__init__(daemon=True)
        self.api, self.path, self.token, self.headers = api, path, token, headers
        self.response = None
        self.finished_at = None

    def run(self):
        try:
            self.response = self.api.get(self.path, self.token, headers=self.headers)
            self.finished_at = time.monotonic()
        finally:
            self.api.close()


@pytest.mark.parametrize(
    "value", ["-1", "31", "30.5", "abc", "", "1.2345", "1e1", ".5", "5.", "030"]
)
def test_wait_rejects_invalid_values(wapi, value):
    view, players = wapi.started_game("lockstep", 2)
    token = players[0]["token"]

    game = wapi.get(f"{game_path(view['id'])}?wait={value}", token)
    chat = wapi.get(f"{chat_path(view['id'])}?after=0&wait={value}", token)

    assert assert_error(game, 400, "invalid_request") == {"field": "wait"}
    assert assert_error(chat, 400, "invalid_request") == {"field": "wait"}


def test_wait_accepts_decimal_seconds(wapi):
    view, players = wapi.started_game("lockstep", 2)
    etag = f'"{view["version"]}"'

    started = time.monotonic()
    response = wapi.get(
        f"{game_path(view['id'])}?wait=0.5",
        players[0]["token"],
        headers={"If-None-Match": etag},
    )

    assert response.status_code == 304
    assert time.monotonic() - started >= 0.45


def test_wait_without_change_returns_304(wapi):
    view, players = wapi.started_game("lockstep", 2)
    etag = f'"{view["version"]}"'

    started = time.monotonic()
    response = wapi.get(
        f"{game_path(view['id'])}?wait=1",
        players[0]["token"],
        headers={"If-None-Match": etag},
    )
    elapsed = time.monotonic() - started

    assert response.status_code == 304
    assert response.headers["ETag"] == etag
    assert response.headers["X-Poll-Interval"] == str(POLL_LONG)
    assert 0.95 <= elapsed < 3


def test_wait_without_etag_answers_at_once(wapi):
    view, players = wapi.started_game("lockstep", 2)

    started = time.monotonic()
    response = wapi.get(f"{game_path(view['id'])}?wait=20", players[0]["token"])

    assert response.status_code == 200
    assert response.json()["version"] == view["version"]
    assert time.monotonic() - started < 2


def test_wait_with_stale_etag_answers_at_once(wapi):
    view, players = wapi.started_game("lockstep", 2)
    stale = f'"{view["version"] - 1}"'

    started = time.monotonic()
    response = wapi.get(
        f"{game_path(view['id'])}?wait=20",
        players[0]["token"],
        headers={"If-None-Match": stale},
    )

    assert response.status_code == 200
    assert time.monotonic() - started < 2


def test_waiting_client_sees_rival_move_quickly(wapi):
    # Several rounds, so that the two players' connections land on
    # different gunicorn workers at least some of the time.
    view, (ada, bob) = wapi.started_game("lockstep", 2)
    game_id = view["id"]
    for turn in range(1, 5):
        moved = wapi.move(ada["token"], game_id, turn, {"turn": turn})
        assert moved.status_code == 200, moved.text
        etag = f'"{moved.json()["game"]["version"]}"'
        waiter = Waiter(
            wapi.__class__(wapi.base_url),
            f"{game_path(game_id)}?wait=10",
            ada["token"],
            {"If-None-Match": etag},
        )
        waiter.start()
        # Let the waiting request reach the server and register.
        time.sleep(0.4)

        sent_at = time.monotonic()
        rival = wapi.move(bob["token"], game_id, turn, {"turn": turn})
        waiter.join(15)

        assert rival.status_code == 200, rival.text
        assert waiter.response is not None
        assert waiter.response.status_code == 200
        assert waiter.response.json()["turn"] == turn + 1
        assert waiter.finished_at - sent_at < SEEN_WITHIN


def test_chat_wait_returns_new_line(wapi):
    view, (ada, bob) = wapi.started_game("lockstep", 2)
    game_id = view["id"]
    waiter = Waiter(
        wapi.__class__(wapi.base_url),
        f"{chat_path(game_id)}?after=0&wait=10",
        ada["token"],
    )
    waiter.start()
    time.sleep(0.4)

    sent_at = time.monotonic()
    posted = wapi.post(chat_path(game_id), bob["token"], json={"text": "hi"})
    waiter.join(15)

    assert posted.status_code == 201, posted.text
    assert waiter.response.status_code == 200
    body = waiter.response.json()
    assert [line["text"] for line in body["messages"]] == ["hi"]
    assert body["next_after"] == 1
    assert waiter.finished_at - sent_at < SEEN_WITHIN


def test_chat_wait_without_line_returns_empty_list(wapi):
    view, (ada, bob) = wapi.started_game("lockstep", 2)
    game_id = view["id"]
    posted = wapi.post(chat_path(game_id), bob["token"], json={"text": "first"})
    assert posted.status_code == 201, posted.text

    started = time.monotonic()
    response = wapi.get(f"{chat_path(game_id)}?after=1&wait=1", ada["token"])

    assert response.status_code == 200
    assert response.json() == {"messages": [], "next_after": 1}
    assert response.headers["X-Poll-Interval"] == str(POLL_LONG)
    assert time.monotonic() - started >= 0.95


def test_chat_wait_keeps_waiting_past_moves(wapi):
    # A move changes the game's version but adds no chat line.
    view, (ada, bob) = wapi.started_game("lockstep", 2)
    game_id = view["id"]
    waiter = Waiter(
        wapi.__class__(wapi.base_url),
        f"{chat_path(game_id)}?after=0&wait=2",
        ada["token"],
    )
    started = time.monotonic()
    waiter.start()
    time.sleep(0.4)

    moved = wapi.move(bob["token"], game_id, 1, {"x": 1})
    waiter.join(10)

    assert moved.status_code == 200, moved.text
    assert waiter.response.status_code == 200
    assert waiter.response.json()["messages"] == []
    assert waiter.finished_at - started >= 1.9


def test_chat_wait_needs_a_seat(wapi):
    view, _ = wapi.started_game("lockstep", 2)
    stranger = wapi.new_player()

    started = time.monotonic()
    response = wapi.get(f"{chat_path(view['id'])}?after=0&wait=5", stranger["token"])

    assert_error(response, 403, "not_a_member")
    assert time.monotonic() - started < 2


def test_poll_interval_follows_game_state(wapi):
    ada = wapi.new_player()
    bob = wapi.new_player()
    view = wapi.new_game(ada["token"], "rps", 2, rounds=1)
    game_id = view["id"]

    waiting = wapi.get(game_path(game_id), ada["token"])
    wapi.join(bob["token"], game_id)
    own_move_due = wapi.get(game_path(game_id), ada["token"])
    own_move_due_chat = wapi.get(f"{chat_path(game_id)}?after=0", ada["token"])
    moved = wapi.move(ada["token"], game_id, 1, {"throw": "rock"})
    rival_due = wapi.get(game_path(game_id), ada["token"])
    rival_due_304 = wapi.get(
        game_path(game_id),
        ada["token"],
        headers={"If-None-Match": rival_due.headers["ETag"]},
    )
    last = wapi.move(bob["token"], game_id, 1, {"throw": "paper"})
    finished = wapi.get(game_path(game_id), ada["token"])

    assert waiting.headers["X-Poll-Interval"] == str(POLL_QUIET)
    assert own_move_due.headers["X-Poll-Interval"] == str(POLL_LONG)
    assert own_move_due_chat.headers["X-Poll-Interval"] == str(POLL_LONG)
    assert moved.headers["X-Poll-Interval"] == str(POLL_SOON)
    assert rival_due.headers["X-Poll-Interval"] == str(POLL_SOON)
    assert rival_due_304.status_code == 304
    assert rival_due_304.headers["X-Poll-Interval"] == str(POLL_SOON)
    assert last.json()["game"]["status"] == "finished"
    assert finished.headers["X-Poll-Interval"] == str(POLL_LONG)
