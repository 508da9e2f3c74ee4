"""Per-player rate limits on moves and chat, over HTTP on each backend pair.

The server runs with LIMIT requests per WINDOW seconds for moves and for
chat posts, and several gunicorn workers. A burst of BURST requests from
one player, sent at the same moment over separate connections, must not
pass more than LIMIT, because the count is kept atomically in storage.
"""

from __future__ import annotations

import threading
import time

import requests

from tests.api.support import chat_path, expect_error, move_path
from tests.security.conftest import BURST, LIMIT, WINDOW


def send_burst(url: str, method: str, token: str, bodies: list[dict]):
    """Send one request per body at once, each on its own connection.

    Return the responses in body order and the number of rate-limit windows
    that the burst touched.
    """
    start = threading.Barrier(len(bodies))
    responses: list[requests.Response | None] = [None] * len(bodies)
    errors: list[BaseException] = []

    def send(index: int) -> None:
        with requests.Session() as session:
            try:
                start.wait(timeout=30)
                responses[index] = session.request(
                    method,
                    url,
                    json=bodies[index],
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
            except BaseException as exc:
                errors.append(exc)

    first_window = int(time.time() // WINDOW)
    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    windows = int(time.time() // WINDOW) - first_window + 1
    assert not errors, errors
    return responses, windows


def statuses(responses) -> list[int]:
    return sorted(response.status_code for response in responses)


def assert_rate_limited(response) -> None:
    details = expect_error(response, 429, "rate_limited")
    assert details["limit"] == LIMIT
    assert details["window"] == WINDOW
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW


def test_chat_burst_passes_at_most_limit(limited_api, limited_server):
    game, (player, _rival) = limited_api.started_game("lockstep", 2)
    bodies = [{"text": f"line {n}", "client_id": f"burst-{n}"} for n in range(BURST)]

    responses, windows = send_burst(
        limited_server.url + chat_path(game["id"]), "POST", player["token"], bodies
    )

    created = [r for r in responses if r.status_code == 201]
    limited = [r for r in responses if r.status_code == 429]
    assert 1 <= len(created) <= LIMIT * windows, statuses(responses)
    assert len(created) + len(limited) == BURST, statuses(responses)
    for response in limited:
        assert_rate_limited(response)
    view = limited_api.game(player["token"], game["id"])
    assert view["chat_seq"] == len(created)


def test_move_burst_passes_at_most_limit(limited_api, limited_server):
    game, (player, _rival) = limited_api.started_game("lockstep", 2)
    bodies = [{"move": {"attempt": n}} for n in range(BURST)]

    responses, windows = send_burst(
        limited_server.url + move_path(game["id"], 1), "PUT", player["token"], bodies
    )

    accepted = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert 1 <= len(accepted) <= LIMIT * windows, statuses(responses)
    assert len(accepted) + len(limited) == BURST, statuses(responses)
    for response in limited:
        assert_rate_limited(response)
    view = limited_api.game(player["token"], game["id"])
    assert view["your_move"] in [r.json()["game"]["your_move"] for r in accepted]


def test_limit_is_per_player(limited_api):
    game, (player, rival) = limited_api.started_game("lockstep", 2)
    for n in range(LIMIT):
        response = limited_api.post(
            chat_path(game["id"]), player["token"], json={"text": f"n{n}"}
        )
        assert response.status_code == 201, response.text

    over = limited_api.post(chat_path(game["id"]), player["token"], json={"text": "x"})
    rival_post = limited_api.post(
        chat_path(game["id"]), rival["token"], json={"text": "mine"}
    )

    assert_rate_limited(over)
    assert rival_post.status_code == 201, rival_post.text


def test_reads_and_other_writes_not_limited(limited_api):
    game, (player, rival) = limited_api.started_game("lockstep", 2)
    for n in range(LIMIT):
        response = limited_api.post(
            chat_path(game["id"]), player["token"], json={"text": f"n{n}"}
        )
        assert response.status_code == 201, response.text
    assert_rate_limited(
        limited_api.post(chat_path(game["id"]), player["token"], json={"text": "x"})
    )

    chat = limited_api.get(chat_path(game["id"]), player["token"])
    move = limited_api.move(player["token"], game["id"], 1, {"still": "allowed"})

    assert chat.status_code == 200, chat.text
    assert len(chat.json()["messages"]) == LIMIT
    assert move.status_code == 200, move.text


def test_rejected_request_writes_nothing(limited_api):
    game, (player, _rival) = limited_api.started_game("lockstep", 2)
    for n in range(LIMIT):
        response = limited_api.move(player["token"], game["id"], 1, {"n": n})
        assert response.status_code == 200, response.text
    before = limited_api.game(player["token"], game["id"])

    over = limited_api.move(player["token"], game["id"], 1, {"n": "over"})

    assert_rate_limited(over)
    after = limited_api.game(player["token"], game["id"])
    assert after["version"] == before["version"]
    assert after["your_move"] == {"n": LIMIT - 1}
