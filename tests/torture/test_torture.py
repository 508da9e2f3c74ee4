"""Run the torture harness against a fresh server of each backend pair."""

from __future__ import annotations

import json

import pytest

from tests.live import LiveServer
from tests.server_storage import open_server_storage
from tests.torture.harness import Torture, TortureConfig, check_all

SECONDS = 20
PHONES = 12
SEED = 7


@pytest.fixture
def torture_server(server, tmp_path):
    """A server with no data but the harness's, on the current backend pair."""
    live = LiveServer(server.storage, server.locks, tmp_path, workers=3)
    live.start()
    yield live
    live.stop()


def test_torture_keeps_invariants(torture_server):
    config = TortureConfig(
        base_url=torture_server.url, seed=SEED, phones=PHONES, duration=SECONDS
    )

    result = Torture(config).run()

    storage = open_server_storage(torture_server)
    try:
        violations = check_all(result, storage)
    finally:
        storage.close()
    summary = result.summary()
    print("torture summary:", json.dumps(summary))
    assert violations == [], "\n".join(violations[:30])
    assert summary["requests"] > 500
    assert summary["statuses"].get(200, 0) > 100
