"""Fixtures of the lobby tests: services in this process, on each backend pair."""

from __future__ import annotations

import pytest

from tests.fencing.conftest import pair_id, selected_pairs
from tests.inprocess import inprocess_services, shared_cassandra_keyspace


@pytest.fixture(params=selected_pairs(), ids=pair_id)
def backends(request, tmp_path):
    """The backend pair that the services run on, in this process."""
    with inprocess_services(request, tmp_path) as (pair, _clock):
        yield pair


@pytest.fixture
def cassandra_keyspace(request):
    """The keyspace that tests/fencing/conftest.py's distributed pair opens."""
    return shared_cassandra_keyspace(request.config)
