"""Webhooks end to end: games over HTTP, `run_worker`, a receiver that misbehaves.

The receiver fails, hangs past the server's timeout or answers slowly on
the first attempts at most events. Every committed change must still
arrive, signed, at least once, and no event of a game may be sent before
all older events of that game were delivered.
"""

from __future__ import annotations

import time

from tests.webhook_receiver import check_version_order

GAMES = 3
TURNS = 3
# Seconds for every event to arrive through the retries.
DELIVERY_TIMEOUT = 45


def play(api, game_id: str, players: list[dict]) -> None:
    """Play TURNS turns, with a chat line from each player after the first."""
    ada, bob = players
    for turn in range(1, TURNS + 1):
        for player in players:
            response = api.move(player["token"], game_id, turn, {"turn": turn})
            assert response.status_code == 200, response.text
        if turn == 1:
            for player, text in ((ada, "nice"), (bob, "thanks ✓")):
                response = api.post(
                    f"/api/v1/games/{game_id}/chat",
                    player["token"],
                    json={"text": text},
                )
                assert response.status_code == 201, response.text


def expected_events(game_id: str) -> set[tuple]:
    """Return (type, game, turn or chat seq) of every event that `play` causes."""
    events = {("game_started", game_id, 1), ("game_finished", game_id, TURNS)}
    events |= {("turn_resolved", game_id, turn) for turn in range(1, TURNS + 1)}
    events |= {("chat_posted", game_id, seq) for seq in (1, 2)}
    return events


def summary(event: dict) -> tuple:
    data = event["data"]
    key = data.get("seq") if event["type"] == "chat_posted" else data.get("turn")
    return event["type"], event["game"], key


def test_every_committed_change_delivered_in_order(observed, oapi):
    games = [oapi.started_game("lockstep", 2, max_turns=TURNS) for _ in range(GAMES)]
    for view, players in games:
        play(oapi, view["id"], players)
    expected = set()
    for view, _ in games:
        expected |= expected_events(view["id"])
    game_ids = {view["id"] for view, _ in games}

    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while time.monotonic() < deadline:
        delivered = {
            summary(event)
            for event in observed.receiver.delivered_events()
            if event["game"] in game_ids
        }
        if delivered >= expected:
            break
        time.sleep(0.3)

    deliveries = [
        d for d in observed.receiver.all_deliveries() if d.event["game"] in game_ids
    ]
    assert delivered == expected
    assert all(d.signature_valid for d in deliveries)
    check_version_order(deliveries)
    # The receiver's misbehaviour made the server retry, with the same ids.
    assert any(d.answer in ("fail", "hang") for d in deliveries)
    retried = {d.event["id"] for d in deliveries if not d.delivered}
    assert retried <= {d.event["id"] for d in deliveries if d.delivered}
    finished_versions = {
        d.event["game"]: d.event["version"]
        for d in deliveries
        if d.event["type"] == "game_finished"
    }
    for view, players in games:
        final = oapi.game(players[0]["token"], view["id"])
        assert final["status"] == "finished"
        assert finished_versions[view["id"]] == final["version"]


def test_deadline_resolution_sends_event(observed, oapi):
    view, (ada, bob) = oapi.started_game("lockstep", 2, turn_seconds=10)
    assert oapi.move(ada["token"], view["id"], 1, ["in time"]).status_code == 200

    observed.advance_clock(60)
    deadline = time.monotonic() + 30
    resolved = []
    while time.monotonic() < deadline and not resolved:
        resolved = [
            event
            for event in observed.receiver.delivered_events()
            if event["game"] == view["id"] and event["type"] == "turn_resolved"
        ]
        time.sleep(0.2)

    assert resolved, "no turn_resolved event for the deadline"
    assert resolved[0]["data"]["cause"] == "deadline"
    assert resolved[0]["data"]["timed_out"] == [bob["id"]]
