"""Storage backends for the contract suite.

Tests of a Cassandra that LOCKSTEP_TEST_BACKENDS lists (it does by default)
fail, rather than skip, when it does not respond.

Creating a keyspace with the whole schema took 0.9 to 3 s on one local
Cassandra 5.0 node, and dropping it up to 2 s more. So each test module
shares one keyspace, and tests keep apart by using fresh uuid ids. The
keyspace is dropped when the module ends.
"""

from __future__ import annotations

import pytest

from storage.sqlite import SQLiteStorage

from .backends import (
    drop_keyspace,
    open_cassandra,
    selected_storage_backends,
    unique_keyspace,
)


@pytest.fixture(scope="module")
def cassandra_storage():
    """A CassandraStorage on a keyspace of its own, shared by one test module."""
    storage = open_cassandra(unique_keyspace())
    yield storage
    storage.close()
    drop_keyspace(storage.keyspace)


@pytest.fixture(params=selected_storage_backends())
def storage(request, tmp_path):
    """Each selected backend in turn: a fresh SQLite file, or the module's keyspace."""
    if request.param == "sqlite":
        backend = SQLiteStorage(path=str(tmp_path / "lockstep.sqlite3"))
        yield backend
        backend.close()
    else:
        yield request.getfixturevalue("cassandra_storage")


@pytest.fixture
def cassandra_selected():
    """Skip a Cassandra-only test when LOCKSTEP_TEST_BACKENDS leaves Cassandra out."""
    if "cassandra" not in selected_storage_backends():
        pytest.skip("LOCKSTEP_TEST_BACKENDS does not include cassandra")
