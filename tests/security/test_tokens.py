"""Bearer tokens: random, at least 128 bits, stored and logged only as a hash."""

from __future__ import annotations

import base64
import hashlib
import sqlite3

import pytest

PLAYERS = 40


def token_bytes(token: str) -> bytes:
    padded = token + "=" * (-len(token) % 4)
    return base64.urlsafe_b64decode(padded)


@pytest.fixture
def registered(api):
    """Registered players, each of whose tokens the server has seen twice."""
    players = [api.new_player() for _ in range(PLAYERS)]
    for player in players:
        response = api.get("/api/v1/players/me", player["token"])
        assert response.status_code == 200, response.text
    return players


def test_tokens_have_128_bits_or_more(registered):
    tokens = [player["token"] for player in registered]

    assert len(set(tokens)) == PLAYERS
    for token in tokens:
        assert len(token_bytes(token)) >= 16, token


def test_tokens_share_no_structure(registered):
    raw = [token_bytes(player["token"]) for player in registered]

    # Random tokens almost never share a 4-byte prefix (40 tokens: about
    # 2**-22), while counters, timestamps or ids in a token would.
    assert len({token[:4] for token in raw}) == PLAYERS
    # Every bit position takes both values across the tokens.
    width = min(len(token) for token in raw) * 8
    as_ints = [
        int.from_bytes(token, "big") >> (len(token) * 8 - width) for token in raw
    ]
    ones = 0
    zeros = 0
    for value in as_ints:
        ones |= value
        zeros |= ~value
    assert ones == (1 << width) - 1
    assert zeros & ((1 << width) - 1) == (1 << width) - 1


def test_storage_holds_hash_not_token(registered, server_storage):
    for player in registered:
        record = server_storage.get_player(player["id"])
        expected = hashlib.sha256(player["token"].encode()).hexdigest()

        assert record.token_hash == expected
        assert player["token"] not in repr(record)


def test_sqlite_files_hold_no_token(registered, server):
    if server.storage != "sqlite":
        pytest.skip(
            "the Cassandra tables are checked by test_cassandra_rows_hold_no_token"
        )
    database = server.workdir / "lockstep.sqlite3"
    files = [path for path in database.parent.glob("lockstep.sqlite3*")]
    assert database in files
    connection = sqlite3.connect(database)
    try:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(players)")]
        rows = connection.execute("SELECT * FROM players").fetchall()
    finally:
        connection.close()
    content = b"".join(path.read_bytes() for path in files)

    assert "token_hash" in columns
    for player in registered:
        token = player["token"]
        assert token.encode() not in content, "token found in the SQLite files"
        assert not any(token in str(value) for row in rows for value in row)


def test_cassandra_rows_hold_no_token(registered, server, server_storage):
    if server.storage != "cassandra":
        pytest.skip("the SQLite files are checked by test_sqlite_files_hold_no_token")
    session, _ = server_storage._connect()
    keyspace = server_storage.keyspace
    ids = [player["id"] for player in registered]
    rows = []
    for table in ("players", "players_by_token_hash"):
        rows += [
            tuple(row) for row in session.execute(f"SELECT * FROM {keyspace}.{table}")
        ]

    dumped = repr(rows)
    assert any(player_id in dumped for player_id in ids)
    for player in registered:
        assert player["token"] not in dumped


def test_server_log_holds_no_token(registered, server):
    log = server.log_path.read_bytes()

    assert b"route=api/v1/players/me" in log
    for player in registered:
        assert player["token"].encode() not in log


def test_unknown_token_not_echoed(api):
    token = "Zm9vYmFyLXRva2VuLXRoYXQtZG9lcy1ub3QtZXhpc3Q"

    response = api.get("/api/v1/players/me", token)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert token not in response.text
