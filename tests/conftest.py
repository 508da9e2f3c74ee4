"""Fixtures shared by the whole suite: backend selection and live servers.

LOCKSTEP_TEST_BACKENDS chooses the backends, as a comma-separated list of
sqlite, local, cassandra and zookeeper (default: all four). A backend
pair's API tests run when both of its backends are listed. Tests of a
listed backend fail, rather than skip, when its server is not running:
`make test` starts them.
"""

from __future__ import annotations

import os

import django
import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
django.setup()

from tests.live import BACKEND_PAIRS, LiveServer, enabled_backends  # noqa: E402


def enabled_pairs() -> list[tuple[str, str]]:
    names = enabled_backends()
    return [pair for pair in BACKEND_PAIRS if pair[0] in names and pair[1] in names]


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}+{pair[1]}"


@pytest.fixture(scope="session", params=enabled_pairs(), ids=pair_id)
def server(request, tmp_path_factory):
    """A gunicorn server with several workers on one backend pair, for the session."""
    storage_name, lock_name = request.param
    # Rate limits stay on, but above what tests that post a hundred chat
    # lines in a row need; tests/security checks the limits themselves.
    live = LiveServer(
        storage_name,
        lock_name,
        tmp_path_factory.mktemp(pair_id(request.param)),
        extra_env={"LOCKSTEP_RATE_CHAT": "600/10s", "LOCKSTEP_RATE_MOVES": "600/10s"},
    )
    live.start()
    yield live
    live.stop()


@pytest.fixture
def api(server):
    """An HTTP helper bound to the session's server of the current backend pair."""
    from tests.helpers import Api

    client = Api(server.url)
    yield client
    client.close()
