"""Fixtures of the API tests beyond the shared `server` and `api`."""

from __future__ import annotations

import pytest

from tests.helpers import Api
from tests.live import LiveServer


@pytest.fixture(scope="module")
def fresh_server(server, tmp_path_factory):
    """A second server on the same backend pair, with empty data, for one module.

    The open-games list shows at most 100 games per ruleset, oldest first, so
    on the shared server the games that earlier tests left waiting can push a
    new game out of it.
    """
    live = LiveServer(
        server.storage, server.locks, tmp_path_factory.mktemp("fresh"), workers=2
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture
def fresh_api(fresh_server):
    client = Api(fresh_server.url)
    yield client
    client.close()


@pytest.fixture
def lockstep_pair(api):
    """An active two-seat lockstep game and its players, seat order."""
    return api.started_game("lockstep", 2)
