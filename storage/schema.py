"""Versioned CQL schema of the Cassandra backend.

The files in `storage/cql/` are named `NNNN_description.cql` and applied in
name order. Each one is applied once per keyspace, and `schema_migrations`
records which ones are in. `{keyspace}` in a file stands for the keyspace
name.

`apply_schema` is safe to run on every start and from several processes at
once. Every statement is `CREATE ... IF NOT EXISTS`, the driver waits for
schema agreement after each one, and a lease row in `schema_migrations`,
taken with a lightweight transaction, lets one process at a time apply files.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cassandra.cluster import Session
from cassandra.query import SimpleStatement

from .base import StorageError

logger = logging.getLogger(__name__)

CQL_DIR = Path(__file__).with_name("cql")

# Cassandra keyspace names: a letter, then letters, digits and underscores.
# Cassandra 5.0 rejects names longer than 48 characters.
KEYSPACE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")

# The schema_migrations row that serves as the lease. Version names of the
# files start with a digit, so they never collide with it.
LEASE_ROW = "lease"

# A lease expires this many seconds after it was taken, so a process that
# dies while applying files blocks the others for at most this long.
LEASE_SECONDS = 120

# How long one DDL statement may take, in seconds. Schema changes are much
# slower than reads and writes, so the session's request timeout is too short.
DDL_TIMEOUT = 60.0

LEASE_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Migration:
    """One CQL file: its version (the file name without `.cql`) and statements."""

    version: str
    statements: list[str]


def check_keyspace_name(keyspace: str) -> str:
    """Return `keyspace` if it is a valid unquoted Cassandra identifier.

    Raise ValueError otherwise, because the name is pasted into CQL text.
    """
    if not KEYSPACE_NAME.fullmatch(keyspace):
        raise ValueError(
            f"Invalid keyspace name {keyspace!r}: use a letter followed by up to "
            "47 letters, digits or underscores."
        )
    return keyspace


def split_statements(text: str) -> list[str]:
    """Split CQL text into statements, dropping `--` comments.

    The split is on every `;`, so statements must not contain one, not even
    in a string literal or a comment.
    """
    lines = [line.split("--", 1)[0] for line in text.splitlines()]
    statements = "\n".join(lines).split(";")
    return [statement.strip() for statement in statements if statement.strip()]


def load_migrations(keyspace: str, cql_dir: Path = CQL_DIR) -> list[Migration]:
    """Read the CQL files for `keyspace`, in the order they must be applied."""
    check_keyspace_name(keyspace)
    migrations = []
    for path in sorted(cql_dir.glob("*.cql")):
        text = path.read_text(encoding="utf-8").replace("{keyspace}", keyspace)
        migrations.append(Migration(path.stem, split_statements(text)))
    return migrations


def apply_schema(
    session: Session,
    keyspace: str,
    replication: str,
    cql_dir: Path = CQL_DIR,
    timeout: float = DDL_TIMEOUT,
) -> list[str]:
    """Create the keyspace and apply the CQL files it does not have yet.

    `replication` is the CQL map of the keyspace's replication, for example
    `{'class': 'NetworkTopologyStrategy', 'dc1': 3}`. It only applies when
    the keyspace is created, and an existing keyspace keeps its replication.
    Return the versions applied by this call, which is empty when another
    process applied them or nothing was missing.

    Driver exceptions propagate. Raise StorageError when schema agreement is
    not reached or another process holds the lease for too long.
    """
    check_keyspace_name(keyspace)
    migrations = load_migrations(keyspace, cql_dir)

    _run_ddl(
        session,
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}",
        timeout,
    )
    _run_ddl(
        session,
        f"CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations ("
        "version text PRIMARY KEY, applied_at text, lease_owner text)",
        timeout,
    )

    if not _missing(migrations, _applied_versions(session, keyspace)):
        return []

    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    if not _wait_for_lease(session, keyspace, owner, migrations):
        # Another process applied every file while this one waited.
        return []
    try:
        # Read again under the lease, because the previous holder may have
        # applied some.
        missing = _missing(migrations, _applied_versions(session, keyspace))
        for migration in missing:
            _apply_migration(session, keyspace, migration, timeout)
        return [migration.version for migration in missing]
    finally:
        _release_lease(session, keyspace, owner)


def _run_ddl(session: Session, cql: str, timeout: float) -> None:
    result = session.execute(SimpleStatement(cql), timeout=timeout)
    if not result.response_future.is_schema_agreed:
        wait = session.cluster.max_schema_agreement_wait
        raise StorageError(
            f"Cassandra nodes did not agree on the schema within {wait} s after "
            f"{cql.splitlines()[0]!r}. Check that every node is up (nodetool "
            "describecluster) and run apply_schema again."
        )


def _applied_versions(session: Session, keyspace: str) -> set[str]:
    rows = session.execute(
        f"SELECT version, applied_at FROM {keyspace}.schema_migrations"
    )
    # The lease row has no applied_at.
    return {row.version for row in rows if row.applied_at is not None}


def _missing(migrations: list[Migration], applied: set[str]) -> list[Migration]:
    return [migration for migration in migrations if migration.version not in applied]


def _wait_for_lease(
    session: Session, keyspace: str, owner: str, migrations: list[Migration]
) -> bool:
    """Take the lease, waiting while another process has it.

    Return True once this process has it, or False when the other holder
    applied every file in the meantime.
    """
    # The lease row is only ever written conditionally, because plain and
    # conditional writes on one row do not order with each other.
    acquire = (
        f"INSERT INTO {keyspace}.schema_migrations (version, lease_owner) "
        f"VALUES (%s, %s) IF NOT EXISTS USING TTL {LEASE_SECONDS}"
    )
    deadline = time.monotonic() + LEASE_SECONDS + 30
    while True:
        result = session.execute(acquire, (LEASE_ROW, owner))
        if result.was_applied:
            return True
        holder = result.one().lease_owner
        if not _missing(migrations, _applied_versions(session, keyspace)):
            return False
        if time.monotonic() > deadline:
            raise StorageError(
                f"Timed out after {LEASE_SECONDS + 30} s waiting for {holder} to "
                f"finish applying the schema of keyspace {keyspace}. If that "
                "process is gone, its lease expires within "
                f"{LEASE_SECONDS} s; run apply_schema again."
            )
        logger.debug(
            "Waiting for %s to release the schema lease of %s", holder, keyspace
        )
        time.sleep(LEASE_POLL_SECONDS)


def _release_lease(session: Session, keyspace: str, owner: str) -> None:
    session.execute(
        f"DELETE FROM {keyspace}.schema_migrations WHERE version = %s "
        "IF lease_owner = %s",
        (LEASE_ROW, owner),
    )


def _apply_migration(
    session: Session, keyspace: str, migration: Migration, timeout: float
) -> None:
    started = time.monotonic()
    for statement in migration.statements:
        _run_ddl(session, statement, timeout)
    session.execute(
        f"INSERT INTO {keyspace}.schema_migrations (version, applied_at) "
        "VALUES (%s, %s)",
        (migration.version, datetime.now(UTC).isoformat()),
    )
    logger.info(
        "Applied schema %s to keyspace %s in %.1f s",
        migration.version,
        keyspace,
        time.monotonic() - started,
    )
