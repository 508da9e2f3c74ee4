"""Fixtures of the deadline tests: services in this process, on each backend pair."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fencing.conftest import BackendPair, pair_id, selected_pairs
from tests.inprocess import (
    MovableClock,
    inprocess_services,
    shared_cassandra_keyspace,
)


@dataclass
class Backends:
    pair: BackendPair
    clock: MovableClock


@pytest.fixture(params=selected_pairs(), ids=pair_id)
def backends(request, tmp_path):
    """Services on a backend pair, with the server clock under the test's control."""
    with inprocess_services(request, tmp_path) as (pair, clock):
        yield Backends(pair, clock)


@pytest.fixture
def cassandra_keyspace(request):
    """The keyspace that tests/fencing/conftest.py's distributed pair opens."""
    return shared_cassandra_keyspace(request.config)
