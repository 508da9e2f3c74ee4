"""Cases a schema-driven fuzzer does not construct: clocks, turn numbers,
duplicate requests over two connections, and exact multi-byte text."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from tests.api.support import chat_path, expect_conflict, move_path, play_turn
from tests.server_storage import open_server_storage

# How far server times may be from this machine's clock in these tests.
CLOCK_TOLERANCE = timedelta(seconds=60)
HOUR = timedelta(hours=1)


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_server_time(text: str) -> None:
    assert abs(parse_time(text) - datetime.now(UTC)) < CLOCK_TOLERANCE, text


def skewed_headers(offset: timedelta) -> dict:
    """Headers a phone with a clock `offset` away from true time would send."""
    moment = datetime.now(UTC) + offset
    return {
        "Date": format_datetime(moment, usegmt=True),
        "If-Modified-Since": format_datetime(moment, usegmt=True),
        "X-Client-Time": moment.isoformat(),
    }


# -- client clocks -----------------------------------------------------------


@pytest.mark.parametrize("offset", [HOUR, -HOUR], ids=["ahead", "behind"])
def test_client_times_ignored_in_chat(api, offset):
    game, (first, second) = api.started_game("lockstep", 2)
    claimed = (datetime.now(UTC) + offset).isoformat().replace("+00:00", "Z")
    body = {"text": "hi", "client_id": "c-1", "sent_at": claimed, "seq": 99}

    response = api.post(
        chat_path(game["id"]), first["token"], json=body, headers=skewed_headers(offset)
    )

    assert response.status_code == 201, response.text
    line = response.json()
    assert line["seq"] == 1
    assert_server_time(line["sent_at"])
    stored = api.get(chat_path(game["id"]), second["token"]).json()["messages"]
    assert stored[0]["sent_at"] == line["sent_at"]


@pytest.mark.parametrize("offset", [HOUR, -HOUR], ids=["ahead", "behind"])
def test_client_times_ignored_in_moves(api, offset):
    game, (first, second) = api.started_game("lockstep", 2)
    claimed = (datetime.now(UTC) + offset).isoformat()
    headers = skewed_headers(offset)

    for player in (first, second):
        response = api.put(
            move_path(game["id"], 1),
            player["token"],
            json={"move": {"at": claimed}, "submitted_at": claimed},
            headers=headers,
        )
        assert response.status_code == 200, response.text

    turns = api.get(f"/api/v1/games/{game['id']}/turns", first["token"]).json()
    assert_server_time(turns["turns"][0]["resolved_at"])
    view = api.get(f"/api/v1/games/{game['id']}", first["token"], headers=headers)
    assert view.status_code == 200
    assert_server_time(view.json()["updated_at"])


# -- turn numbers --------------------------------------------------------------


def test_moves_for_past_and_future_turns(api):
    game, (first, second) = api.started_game("lockstep", 2)
    play_turn(api, game["id"], 1, [(first, "a1"), (second, "b1")])

    retry = api.move(first["token"], game["id"], 1, "a1")
    changed = api.move(first["token"], game["id"], 1, "other")
    zero = api.move(first["token"], game["id"], 0, "a1")
    next_turn = api.move(first["token"], game["id"], 3, "a3")
    far = api.move(first["token"], game["id"], 2**31 - 1, "a")

    assert retry.status_code == 200, retry.text
    assert retry.json()["resolved"] is True
    expect_conflict(changed, "turn_closed", turn=2, status="active")
    expect_conflict(zero, "turn_closed", turn=2, status="active")
    expect_conflict(next_turn, "wrong_turn", turn=2, status="active")
    expect_conflict(far, "wrong_turn", turn=2, status="active")
    assert api.game(first["token"], game["id"])["your_move"] is None


def test_moves_after_game_over(api):
    game, (first, second) = api.started_game("lockstep", 2)
    final = {"final": True, "result": {first["id"]: "won", second["id"]: "lost"}}
    play_turn(api, game["id"], 1, [(first, final), (second, final)])
    view = api.game(first["token"], game["id"])
    assert view["status"] == "finished"

    retry = api.move(first["token"], game["id"], 1, final)
    current = api.move(first["token"], game["id"], view["turn"], "late")
    later = api.move(first["token"], game["id"], view["turn"] + 1, "late")
    changed = api.move(second["token"], game["id"], 1, "late")

    assert retry.status_code == 200, retry.text
    assert retry.json()["resolved"] is True
    # The last turn of a finished game is resolved, so a different move for
    # it is a closed turn, and any later turn finds the game not active.
    expect_conflict(current, "turn_closed", turn=view["turn"], status="finished")
    expect_conflict(later, "game_not_active", turn=view["turn"], status="finished")
    expect_conflict(changed, "turn_closed", turn=view["turn"], status="finished")
    assert api.game(first["token"], game["id"])["version"] == view["version"]


# -- the same request over two connections at once ------------------------------


def send_twice_at_once(url: str, token: str, body: dict) -> list[requests.Response]:
    barrier = threading.Barrier(2)
    responses: list[requests.Response | None] = [None, None]

    def send(index: int) -> None:
        with requests.Session() as session:
            barrier.wait(timeout=30)
            responses[index] = session.put(
                url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_same_move_twice_at_once(api, server):
    game, (first, _second) = api.started_game("lockstep", 2)
    before = api.game(first["token"], game["id"])["version"]
    url = server.url + move_path(game["id"], 1)

    responses = send_twice_at_once(url, first["token"], {"move": {"x": 1}})

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert [r.json()["resolved"] for r in responses] == [False, False]
    view = api.game(first["token"], game["id"])
    assert view["your_move"] == {"x": 1}
    assert view["version"] == before + 1


def test_same_last_move_twice_at_once_resolves_once(api, server):
    game, (first, second) = api.started_game("lockstep", 2)
    assert api.move(first["token"], game["id"], 1, "a1").status_code == 200
    url = server.url + move_path(game["id"], 1)

    responses = send_twice_at_once(url, second["token"], {"move": "b1"})

    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert [r.json()["resolved"] for r in responses] == [True, True]
    turns = api.get(f"/api/v1/games/{game['id']}/turns", first["token"]).json()
    assert [turn["number"] for turn in turns["turns"]] == [1]
    assert turns["turns"][0]["moves"] == {first["id"]: "a1", second["id"]: "b1"}
    assert api.game(first["token"], game["id"])["turn"] == 2


# -- exact multi-byte text -----------------------------------------------------------

# Texts of exactly 1,025 bytes of UTF-8 made of 2-, 3- and 4-byte characters,
# combining marks and a zero-width joiner sequence.
TEXTS_OF_1025_BYTES = {
    "two-byte": "é" * 512 + "a",
    "three-byte": "€" * 341 + "ab",
    "four-byte": "🎲" * 256 + "a",
    "combining": ("e\u0301" * 341) + "ab",
    "zwj": ("👩\u200d💻" * 93) + "ab",
}


@pytest.mark.parametrize("label", sorted(TEXTS_OF_1025_BYTES))
def test_chat_text_of_1025_bytes_exact(api, server, label):
    text = TEXTS_OF_1025_BYTES[label]
    assert len(text.encode("utf-8")) == 1025
    game, (first, second) = api.started_game("lockstep", 2)

    posted = api.post(chat_path(game["id"]), first["token"], json={"text": text})
    read = api.get(chat_path(game["id"]), second["token"])

    assert posted.status_code == 201, posted.text
    assert posted.json()["text"] == text
    assert read.json()["messages"][0]["text"] == text
    storage = open_server_storage(server)
    try:
        line = storage.get_chat_line(game["id"], 1)
        newest = storage.get_game(game["id"]).last_chat
    finally:
        storage.close()
    stored = line.text if line is not None else newest.text
    assert stored.encode("utf-8") == text.encode("utf-8")
