"""The log of a run: one logfmt line per request, and never a secret."""

from __future__ import annotations

import re
import time

import requests

from tests.observability.conftest import METRICS_TOKEN, WEBHOOK_SECRET

MOVE_ROUTE = "api/v1/games/<uuid_any_case:game_id>/turns/<int:turn>/move"


def test_request_log_line_fields(observed, oapi):
    view, (ada, bob) = oapi.started_game("lockstep", 2)
    assert oapi.move(ada["token"], view["id"], 1, [1]).status_code == 200
    time.sleep(0.3)

    pattern = re.compile(
        r"^time=\S+Z level=INFO logger=lockstep\.requests msg=request method=PUT "
        rf"route={re.escape(MOVE_ROUTE)} status=200 duration_ms=\d+\.\d "
        rf"player={ada['id']} game={view['id']}$",
        re.MULTILINE,
    )
    assert pattern.search(observed.logs()), observed.live.log_tail()


def test_no_token_or_secret_in_logs(observed, oapi):
    view, (ada, bob) = oapi.started_game("lockstep", 2)
    unknown_token = "unknown-token-4f1e8a"
    assert oapi.move(ada["token"], view["id"], 1, [1]).status_code == 200
    assert oapi.move(bob["token"], view["id"], 1, [2]).status_code == 200
    assert oapi.get("/api/v1/players/me", unknown_token).status_code == 401
    assert (
        oapi.get(f"/api/v1/games/{view['id']}?wait=x", ada["token"]).status_code == 400
    )
    chat = oapi.post(
        f"/api/v1/games/{view['id']}/chat", ada["token"], json={"text": "gg"}
    )
    assert chat.status_code == 201
    for token in ("wrong-metrics-token-77", METRICS_TOKEN):
        requests.get(
            f"{observed.url}/metrics",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    # Let the worker deliver the events of this game, signed with the secret.
    time.sleep(2)

    logs = observed.logs()
    assert f"game={view['id']}" in logs
    for secret in (
        ada["token"],
        bob["token"],
        unknown_token,
        "wrong-metrics-token-77",
        METRICS_TOKEN,
        WEBHOOK_SECRET,
    ):
        assert secret not in logs
