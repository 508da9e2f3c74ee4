"""The versioned CQL schema and `python manage.py apply_schema`."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.test import override_settings

from storage.cassandra import CassandraStorage
from storage.schema import check_keyspace_name, load_migrations, split_statements

from .backends import CASSANDRA_HOST, CASSANDRA_PORT, drop_keyspace, unique_keyspace

TABLES = {
    "games",
    "players",
    "players_by_token_hash",
    "player_games",
    "open_games",
    "open_game_positions",
    "moves",
    "turns",
    "chat",
    "chat_client_ids",
}


def test_split_statements_drops_comments():
    text = """
    -- a comment
    CREATE TABLE IF NOT EXISTS k.a (id text PRIMARY KEY); -- trailing
    CREATE TABLE IF NOT EXISTS k.b (
        id text PRIMARY KEY  -- inside
    );
    """

    statements = split_statements(text)

    assert len(statements) == 2
    assert statements[0] == "CREATE TABLE IF NOT EXISTS k.a (id text PRIMARY KEY)"
    assert "inside" not in statements[1]


def test_migrations_only_create_if_not_exists():
    migrations = load_migrations("lockstep_x")

    assert [m.version for m in migrations][0] == "0001_initial"
    for migration in migrations:
        for statement in migration.statements:
            assert statement.startswith("CREATE TABLE IF NOT EXISTS lockstep_x.")
            assert "{keyspace}" not in statement


def test_initial_migration_tables():
    statements = load_migrations("lockstep_x")[0].statements

    created = {s.split("lockstep_x.", 1)[1].split(" ", 1)[0] for s in statements}

    assert created == TABLES


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a.b", "a b", "x" * 49])
def test_keyspace_name_rejected(name):
    with pytest.raises(ValueError, match="Invalid keyspace name"):
        check_keyspace_name(name)


def test_keyspace_name_accepted():
    assert check_keyspace_name("Lockstep_2") == "Lockstep_2"


# -- against Cassandra ---------------------------------------------------


def cassandra_options(keyspace: str) -> dict:
    return {"hosts": [CASSANDRA_HOST], "port": CASSANDRA_PORT, "keyspace": keyspace}


@pytest.fixture
def fresh_keyspace(cassandra_selected):
    """A keyspace name that does not exist yet; dropped after the test."""
    keyspace = unique_keyspace("lockstep_schema")
    yield keyspace
    drop_keyspace(keyspace)


def test_apply_schema_from_many_processes_at_once(fresh_keyspace):
    # Each storage opens its own driver Cluster, as separate processes would.
    racers = 4
    start = threading.Barrier(racers)

    def apply() -> list[str]:
        storage = CassandraStorage(**cassandra_options(fresh_keyspace))
        start.wait(timeout=30)
        try:
            return storage.apply_schema()
        finally:
            storage.close()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(lambda _: apply(), range(racers)))

    all_versions = [m.version for m in load_migrations(fresh_keyspace)]
    assert sorted(results) == [[]] * (racers - 1) + [all_versions]
    storage = CassandraStorage(**cassandra_options(fresh_keyspace))
    try:
        storage.ping()
        assert storage.apply_schema() == []
    finally:
        storage.close()


def test_command_applies_then_reports_up_to_date(fresh_keyspace):
    first, second = io.StringIO(), io.StringIO()

    with override_settings(
        LOCKSTEP_STORAGE_BACKEND="storage.cassandra.CassandraStorage",
        LOCKSTEP_STORAGE_OPTIONS=cassandra_options(fresh_keyspace),
    ):
        call_command("apply_schema", stdout=first)
        call_command("apply_schema", stdout=second)

    versions = ", ".join(m.version for m in load_migrations(fresh_keyspace))
    assert first.getvalue() == f"Applied {versions} to keyspace {fresh_keyspace}.\n"
    assert second.getvalue() == f"Keyspace {fresh_keyspace} is up to date.\n"


def test_command_does_nothing_for_sqlite(tmp_path):
    output = io.StringIO()

    with override_settings(
        LOCKSTEP_STORAGE_BACKEND="storage.sqlite.SQLiteStorage",
        LOCKSTEP_STORAGE_OPTIONS={"path": str(tmp_path / "lockstep.sqlite3")},
    ):
        call_command("apply_schema", stdout=output)

    assert "Nothing to do" in output.getvalue()
    # The message names the environment variable that users set.
    assert "LOCKSTEP_STORAGE " in output.getvalue()
    assert "LOCKSTEP_STORAGE_BACKEND" not in output.getvalue()
    assert not (tmp_path / "lockstep.sqlite3").exists()
