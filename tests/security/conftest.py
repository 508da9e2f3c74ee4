"""Fixtures of the security tests."""

from __future__ import annotations

import pytest

from tests.helpers import Api
from tests.live import LiveServer
from tests.server_storage import open_server_storage

# The rate limits of `limited_server`: a burst of BURST requests must pass at
# most LIMIT. The window is long, so that a burst almost never straddles two
# windows; the tests still allow for that case.
LIMIT = 5
WINDOW = 600
BURST = 20


@pytest.fixture(scope="module")
def limited_server(server, tmp_path_factory):
    """A server on the current backend pair with low move and chat rate limits."""
    live = LiveServer(
        server.storage,
        server.locks,
        tmp_path_factory.mktemp("limited"),
        workers=3,
        extra_env={
            "LOCKSTEP_RATE_MOVES": f"{LIMIT}/{WINDOW}s",
            "LOCKSTEP_RATE_CHAT": f"{LIMIT}/{WINDOW}s",
        },
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture
def limited_api(limited_server):
    client = Api(limited_server.url)
    yield client
    client.close()


@pytest.fixture
def server_storage(server):
    """The shared server's storage, opened directly."""
    storage = open_server_storage(server)
    yield storage
    storage.close()
