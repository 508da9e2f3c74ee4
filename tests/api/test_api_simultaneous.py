"""Simultaneous requests: one resolution, no overfilled game, no gap in the chat."""

from __future__ import annotations

import threading

from tests.api.support import chat_path, resolved_turns
from tests.helpers import Api


def run_together(server_url: str, calls) -> list:
    """Run each call(api) in its own thread and client, released at once."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        client = Api(server_url)
        try:
            barrier.wait(timeout=30)
            results[index] = call(client)
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_simultaneous_last_moves_resolve_once(api, server):
    game, players = api.started_game("lockstep", 8)

    responses = run_together(
        server.url,
        [
            lambda client, p=p, seat=seat: client.move(
                p["token"], game["id"], 1, {"seat": seat}
            )
            for seat, p in enumerate(players)
        ],
    )

    assert [r.status_code for r in responses] == [200] * 8
    assert [r.json()["resolved"] for r in responses].count(True) == 1
    turns = resolved_turns(api, players[0]["token"], game["id"])
    assert [turn["number"] for turn in turns] == [1]
    assert turns[0]["moves"] == {
        p["id"]: {"seat": seat} for seat, p in enumerate(players)
    }
    view = api.game(players[0]["token"], game["id"])
    assert view["turn"] == 2
    assert view["version"] == game["version"] + 8


def test_simultaneous_joins_fill_seats_once(api, server):
    host = api.new_player()
    game = api.new_game(host["token"], "lightcycles", 4)
    joiners = [api.new_player() for _ in range(9)]

    responses = run_together(
        server.url,
        [
            lambda client, p=p: client.post(
                f"/api/v1/games/{game['id']}/join", p["token"]
            )
            for p in joiners
        ],
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 3 + [409] * 6
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "game_full"
    view = api.game(host["token"], game["id"])
    assert view["status"] == "active"
    assert [p["seat"] for p in view["players"]] == [0, 1, 2, 3]
    seated = {p["id"] for p in view["players"]}
    winners = {
        p["id"] for p, r in zip(joiners, responses, strict=True) if r.status_code == 200
    }
    assert seated == winners | {host["id"]}


def test_simultaneous_chat_posts_have_no_gaps(api, server):
    game, (first, second) = api.started_game("lockstep", 2)
    posters = [first, second] * 6

    responses = run_together(
        server.url,
        [
            lambda client, p=p, n=n: client.post(
                chat_path(game["id"]), p["token"], json={"text": f"line {n}"}
            )
            for n, p in enumerate(posters)
        ],
    )

    assert [r.status_code for r in responses] == [201] * 12
    assert sorted(r.json()["seq"] for r in responses) == list(range(1, 13))
    lines = api.get(chat_path(game["id"]), first["token"]).json()["messages"]
    assert [line["seq"] for line in lines] == list(range(1, 13))
    assert sorted(line["text"] for line in lines) == sorted(
        f"line {n}" for n in range(12)
    )


def test_simultaneous_client_id_retries_add_one_line(api, server):
    game, (first, _second) = api.started_game("lockstep", 2)

    responses = run_together(
        server.url,
        [
            lambda client: client.post(
                chat_path(game["id"]),
                first["token"],
                json={"text": "once", "client_id": "c-1"},
            )
            for _ in range(6)
        ],
    )

    assert sorted(r.status_code for r in responses) == [200] * 5 + [201]
    assert {r.json()["seq"] for r in responses} == {1}
    assert api.game(first["token"], game["id"])["chat_seq"] == 1
