"""Choosing and opening the storage backends under test.

LOCKSTEP_TEST_BACKENDS, a comma-separated list, chooses the backends
(default: sqlite,cassandra). Names of other kinds of backend, such as
zookeeper, are ignored here. Cassandra is the one on 127.0.0.1 at
LOCKSTEP_CASSANDRA_PORT (default 9042).
"""

from __future__ import annotations

import os
import uuid

import pytest
from cassandra import ProtocolVersion
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import RoundRobinPolicy

from storage.base import StorageError
from storage.cassandra import CassandraStorage

STORAGE_BACKENDS = ("sqlite", "cassandra")
KNOWN_BACKENDS = STORAGE_BACKENDS + ("local", "zookeeper")
CASSANDRA_HOST = "127.0.0.1"
CASSANDRA_PORT = int(os.environ.get("LOCKSTEP_CASSANDRA_PORT", "9042"))


def selected_storage_backends() -> list[str]:
    """Return the storage backends named in LOCKSTEP_TEST_BACKENDS, in suite order."""
    raw = os.environ.get("LOCKSTEP_TEST_BACKENDS", ",".join(STORAGE_BACKENDS))
    names = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = names - set(KNOWN_BACKENDS)
    if unknown:
        raise pytest.UsageError(
            f"LOCKSTEP_TEST_BACKENDS names unknown backends {sorted(unknown)}; "
            f"use some of {', '.join(KNOWN_BACKENDS)}."
        )
    return [name for name in STORAGE_BACKENDS if name in names]


def unique_keyspace(prefix: str = "lockstep_test") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def open_cassandra(keyspace: str, **options) -> CassandraStorage:
    """Connect to the test Cassandra and create `keyspace`, or fail the test."""
    storage = CassandraStorage(
        hosts=CASSANDRA_HOST,
        port=CASSANDRA_PORT,
        keyspace=keyspace,
        create_schema=True,
        **options,
    )
    try:
        storage.ping()
    except StorageError as exc:
        storage.close()
        pytest.fail(
            f"Cassandra at {CASSANDRA_HOST}:{CASSANDRA_PORT} is not usable: {exc}. "
            "Start it with 'scripts/services.sh start cassandra', or set "
            "LOCKSTEP_TEST_BACKENDS=sqlite to run without it.",
            pytrace=False,
        )
    return storage


def drop_keyspace(keyspace: str) -> None:
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy())
    cluster = Cluster(
        [CASSANDRA_HOST],
        port=CASSANDRA_PORT,
        protocol_version=ProtocolVersion.V5,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
    )
    try:
        session = cluster.connect()
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
    finally:
        cluster.shutdown()
