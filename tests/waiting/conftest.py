"""A server for the waiting-poll tests, with enough threads for 200 waiting clients."""

from __future__ import annotations

import pytest

from tests.helpers import Api
from tests.live import LiveServer

WORKERS = 3
# Each worker lets THREADS - 4 requests wait at once, so 3 workers hold 228.
THREADS = 80


@pytest.fixture(scope="package")
def waiting_server(server, tmp_path_factory):
    """gunicorn on the session server's backend pair, for the waiting tests."""
    live = LiveServer(
        server.storage,
        server.locks,
        tmp_path_factory.mktemp("waiting"),
        workers=WORKERS,
        threads=THREADS,
        # The load test moves in 50 games as one player within seconds.
        extra_env={"LOCKSTEP_RATE_MOVES": "off", "LOCKSTEP_RATE_CHAT": "off"},
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture
def wapi(waiting_server):
    client = Api(waiting_server.url)
    yield client
    client.close()
