"""GET /metrics across gunicorn workers and the worker process."""

from __future__ import annotations

import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import assert_error
from tests.observability.conftest import METRICS_TOKEN

TURNS = 3
MOVE_ROUTE = "api/v1/games/<uuid_any_case:game_id>/turns/<int:turn>/move"


def scrape(base_url: str) -> dict[tuple, float]:
    """Return every sample as {(name, sorted label pairs): value}."""
    response = requests.get(
        f"{base_url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str, **labels) -> float:
    """Sum the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(
        sample_value
        for (sample_name, pairs), sample_value in samples.items()
        if sample_name == name and wanted <= set(pairs)
    )


def fresh_connection_move(base_url: str, token: str, game_id: str, turn: int, move):
    # A new connection per request, so the moves spread over the workers.
    return requests.put(
        f"{base_url}/api/v1/games/{game_id}/turns/{turn}/move",
        json={"move": move},
        headers={"Authorization": f"Bearer {token}", "Connection": "close"},
        timeout=30,
    )


def test_metrics_need_the_token(observed):
    missing = requests.get(f"{observed.url}/metrics", timeout=10)
    wrong = requests.get(
        f"{observed.url}/metrics",
        headers={"Authorization": "Bearer not-the-token"},
        timeout=10,
    )
    right = requests.get(
        f"{observed.url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    )

    assert_error(missing, 401, "not_authenticated")
    assert_error(wrong, 401, "not_authenticated")
    assert right.status_code == 200
    assert right.headers["Content-Type"].startswith("text/plain")
    assert "lockstep_waiting_requests" in right.text


def test_metrics_count_a_game_over_http(observed, oapi):
    view, (ada, bob) = oapi.started_game("lockstep", 2, max_turns=TURNS)
    before = scrape(observed.url)

    for turn in range(1, TURNS + 1):
        for player in (ada, bob):
            response = fresh_connection_move(
                observed.url, player["token"], view["id"], turn, [turn]
            )
            assert response.status_code == 200, response.text
    waited = oapi.get(
        f"/api/v1/games/{view['id']}?wait=0.2",
        ada["token"],
        headers={"If-None-Match": f'"{response.json()["game"]["version"]}"'},
    )
    after = scrape(observed.url)

    def delta(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert waited.status_code == 304
    assert delta("lockstep_turns_resolved_total", cause="all_in") == TURNS
    assert delta("lockstep_turns_resolved_total", cause="deadline") == 0
    assert delta("lockstep_turn_first_move_to_resolution_seconds_count") == TURNS
    assert delta("lockstep_missed_turns_total") == 0
    assert delta("lockstep_fencing_rejections_total") == 0
    assert delta("lockstep_lock_timeouts_total") == 0
    assert delta("lockstep_lock_wait_seconds_count") >= TURNS * 2
    assert (
        delta(
            "lockstep_http_request_duration_seconds_count",
            route=MOVE_ROUTE,
            method="PUT",
            status="200",
            wait="no",
        )
        == TURNS * 2
    )
    assert (
        delta(
            "lockstep_http_request_duration_seconds_count",
            route="api/v1/games/<uuid_any_case:game_id>",
            status="304",
            wait="yes",
        )
        == 1
    )
    assert value(after, "lockstep_waiting_requests") == 0


def test_metrics_sum_every_worker(observed, oapi):
    for _ in range(12):
        response = requests.get(
            f"{observed.url}/api/v1/health", headers={"Connection": "close"}, timeout=10
        )
        assert response.status_code == 200

    pids = {
        path.stem.split("_")[-1] for path in observed.metrics_dir.glob("histogram_*")
    }

    # The server's three workers, and the worker process, write files.
    assert len(pids) >= 2


def test_metrics_count_webhook_deliveries(observed, oapi):
    view, (ada, bob) = oapi.started_game("lockstep", 2, max_turns=1)
    for player in (ada, bob):
        assert oapi.move(player["token"], view["id"], 1, [1]).status_code == 200

    # game_started, turn_resolved and game_finished of this game, and any
    # events of other tests delivered meanwhile.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        delivered = [
            e for e in observed.receiver.delivered_events() if e["game"] == view["id"]
        ]
        if len({e["id"] for e in delivered}) >= 3:
            break
        time.sleep(0.2)
    failed_answers = [
        d for d in observed.receiver.all_deliveries() if d.answer == "fail"
    ]
    # The worker counts a response a moment after the receiver sent it.
    time.sleep(0.5)
    samples = scrape(observed.url)

    delivered_anywhere = len(observed.receiver.delivered_events())
    assert len({e["id"] for e in delivered}) == 3
    assert total(samples, "lockstep_webhook_deliveries_total") >= 3
    assert total(samples, "lockstep_webhook_deliveries_total") <= delivered_anywhere
    assert total(
        samples, "lockstep_webhook_delivery_failures_total", reason="status"
    ) >= len(failed_answers)


def test_deadline_resolution_counted(observed, oapi):
    view, (ada, bob) = oapi.started_game("lockstep", 2, turn_seconds=10)
    assert oapi.move(ada["token"], view["id"], 1, ["only ada"]).status_code == 200
    before = scrape(observed.url)

    # Move the server's clock past the deadline; the worker resolves the turn.
    observed.advance_clock(60)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if oapi.game(ada["token"], view["id"])["turn"] == 2:
            break
        time.sleep(0.2)
    after = scrape(observed.url)

    def delta(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    assert oapi.game(ada["token"], view["id"])["turn"] == 2
    assert delta("lockstep_turns_resolved_total", cause="deadline") == 1
    assert delta("lockstep_missed_turns_total") == 1
