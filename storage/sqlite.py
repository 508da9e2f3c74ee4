"""SQLite storage backend: the embedded default for one host.

One database file in WAL mode, shared by every gunicorn worker process of
the host; each thread opens its own connection. The games row carries a
`version` column and `update_game` is `UPDATE ... WHERE version = ?`, which
fences a writer that lost its lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .base import Storage, StorageUnavailable, WriteConflict
from .records import (
    ChatLine,
    DueEntry,
    GameRecord,
    MoveRecord,
    PlayerRecord,
    TurnRecord,
)

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS players (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS games (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS player_games (
    player_id TEXT NOT NULL,
    game_id TEXT NOT NULL,
    PRIMARY KEY (player_id, game_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS open_games (
    ruleset TEXT NOT NULL,
    position INTEGER NOT NULL,
    game_id TEXT NOT NULL UNIQUE,
    PRIMARY KEY (ruleset, position)
);
CREATE TABLE IF NOT EXISTS match_queue (
    match_key TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    game_id TEXT NOT NULL,
    PRIMARY KEY (match_key, created_us, game_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS due_games (
    due_us INTEGER NOT NULL,
    game_id TEXT NOT NULL,
    PRIMARY KEY (due_us, game_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS moves (
    game_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    player_id TEXT NOT NULL,
    write_id TEXT NOT NULL,
    move TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    PRIMARY KEY (game_id, turn, player_id, write_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS turns (
    game_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (game_id, number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat (
    game_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    player_id TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    client_id TEXT,
    PRIMARY KEY (game_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_client_ids (
    game_id TEXT NOT NULL,
    player_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (game_id, player_id, client_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox_games (
    game_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox_cursors (
    game_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rate_limits (
    key TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL
) WITHOUT ROWID;
"""

# One statement that counts a request or rejects it, so that concurrent
# workers never pass more than the limit. A row from an earlier window starts
# over at 1. A request stamped with an earlier window than the row's (a host
# whose clock lags) counts in the row's window.
HIT_RATE_LIMIT = """
INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN excluded.window_start > rate_limits.window_start
        THEN 1 ELSE rate_limits.count + 1 END,
    window_start = MAX(rate_limits.window_start, excluded.window_start)
WHERE excluded.window_start > rate_limits.window_start OR rate_limits.count < ?
RETURNING count
"""


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_us(moment: datetime) -> int:
    """Return an aware datetime as whole microseconds since the Unix epoch."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _from_epoch_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class SQLiteStorage(Storage):
    """Storage in one SQLite file.

    `path` is the database file; its folder is created if missing.
    `busy_timeout` is how long, in seconds, a statement waits for another
    process's write to finish before it fails with StorageUnavailable.
    """

    def __init__(self, path: str, busy_timeout: float = 5.0):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._errors():
            self._conn().executescript(SCHEMA)

    # -- connections -----------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _errors(self):
        return _TranslateErrors(self.path)

    def _execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        with self._errors():
            return self._conn().execute(sql, params)

    def _fetchone(self, sql: str, params: tuple = ()):
        with self._errors():
            return self._conn().execute(sql, params).fetchone()

    def _fetchall(self, sql: str, params: tuple = ()):
        with self._errors():
            return self._conn().execute(sql, params).fetchall()

    def ping(self) -> None:
        self._fetchone("SELECT 1")

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- players ---------------------------------------------------------

    def insert_player(self, player: PlayerRecord) -> None:
        self._execute(
            "INSERT INTO players (id, name, token_hash, created_at) "
            "VALUES (?, ?, ?, ?)",
            (player.id, player.name, player.token_hash, player.created_at.isoformat()),
        )

    def get_player(self, player_id: str) -> PlayerRecord | None:
        row = self._fetchone(
            "SELECT id, name, token_hash, created_at FROM players WHERE id = ?",
            (player_id,),
        )
        return _player(row)

    def get_player_by_token_hash(self, token_hash: str) -> PlayerRecord | None:
        row = self._fetchone(
            "SELECT id, name, token_hash, created_at FROM players WHERE token_hash = ?",
            (token_hash,),
        )
        return _player(row)

    # -- games -----------------------------------------------------------

    def insert_game(self, game: GameRecord) -> None:
        cursor = self._execute(
            "INSERT OR IGNORE INTO games (id, status, version, doc) "
            "VALUES (?, ?, ?, ?)",
            (game.id, game.status, game.version, _dumps(game.document())),
        )
        if cursor.rowcount != 1:
            raise WriteConflict(f"Game {game.id} already exists.")

    def get_game(self, game_id: str) -> GameRecord | None:
        row = self._fetchone(
            "SELECT status, version, doc FROM games WHERE id = ?", (game_id,)
        )
        if row is None:
            return None
        status, version, doc = row
        return GameRecord.from_document(game_id, status, version, json.loads(doc))

    def update_game(self, game: GameRecord, expected_version: int) -> None:
        cursor = self._execute(
            "UPDATE games SET status = ?, version = ?, doc = ? "
            "WHERE id = ? AND version = ?",
            (
                game.status,
                game.version,
                _dumps(game.document()),
                game.id,
                expected_version,
            ),
        )
        if cursor.rowcount != 1:
            raise WriteConflict(
                f"Game {game.id} is no longer at version {expected_version}."
            )

    def get_game_versions(self, game_ids: list[str]) -> dict[str, int]:
        versions = {}
        # SQLite allows at most 999 parameters per statement before 3.32.
        for start in range(0, len(game_ids), 500):
            chunk = game_ids[start : start + 500]
            placeholders = ", ".join("?" * len(chunk))
            rows = self._fetchall(
                f"SELECT id, version FROM games WHERE id IN ({placeholders})",
                tuple(chunk),
            )
            versions.update(rows)
        return versions

    def add_player_game(self, player_id: str, game_id: str) -> None:
        self._execute(
            "INSERT OR IGNORE INTO player_games (player_id, game_id) VALUES (?, ?)",
            (player_id, game_id),
        )

    def list_player_game_ids(self, player_id: str) -> list[str]:
        rows = self._fetchall(
            "SELECT game_id FROM player_games WHERE player_id = ?", (player_id,)
        )
        return [row[0] for row in rows]

    def add_open_game(self, ruleset: str, game_id: str) -> None:
        # The position keeps insertion order; a game indexed twice keeps its
        # first place because game_id is unique.
        self._execute(
            "INSERT OR IGNORE INTO open_games (ruleset, position, game_id) "
            "VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM open_games), ?)",
            (ruleset, game_id),
        )

    def remove_open_game(self, ruleset: str, game_id: str) -> None:
        self._execute(
            "DELETE FROM open_games WHERE ruleset = ? AND game_id = ?",
            (ruleset, game_id),
        )

    def list_open_game_ids(self, ruleset: str, limit: int) -> list[str]:
        rows = self._fetchall(
            "SELECT game_id FROM open_games WHERE ruleset = ? "
            "ORDER BY position LIMIT ?",
            (ruleset, limit),
        )
        return [row[0] for row in rows]

    # -- matchmaking queue -----------------------------------------------

    def add_match_game(self, match_key: str, game_id: str, created_at) -> None:
        self._execute(
            "INSERT OR IGNORE INTO match_queue (match_key, created_us, game_id) "
            "VALUES (?, ?, ?)",
            (match_key, _epoch_us(created_at), game_id),
        )

    def remove_match_game(self, match_key: str, game_id: str, created_at) -> None:
        self._execute(
            "DELETE FROM match_queue "
            "WHERE match_key = ? AND created_us = ? AND game_id = ?",
            (match_key, _epoch_us(created_at), game_id),
        )

    def list_match_game_ids(self, match_key: str, limit: int) -> list[str]:
        rows = self._fetchall(
            "SELECT game_id FROM match_queue WHERE match_key = ? "
            "ORDER BY created_us, game_id LIMIT ?",
            (match_key, limit),
        )
        return [row[0] for row in rows]

    # -- due index -------------------------------------------------------

    def add_due(self, game_id: str, due_at) -> None:
        self._execute(
            "INSERT OR IGNORE INTO due_games (due_us, game_id) VALUES (?, ?)",
            (_epoch_us(due_at), game_id),
        )

    def list_due(self, until, limit: int) -> list[DueEntry]:
        # The primary key orders the table by due time, so this reads only
        # the entries it returns.
        rows = self._fetchall(
            "SELECT due_us, game_id FROM due_games WHERE due_us <= ? "
            "ORDER BY due_us, game_id LIMIT ?",
            (_epoch_us(until), limit),
        )
        return [DueEntry(game_id, _from_epoch_us(due_us)) for due_us, game_id in rows]

    def remove_due(self, game_id: str, due_at) -> None:
        self._execute(
            "DELETE FROM due_games WHERE due_us = ? AND game_id = ?",
            (_epoch_us(due_at), game_id),
        )

    # -- moves -----------------------------------------------------------

    def put_move(self, move: MoveRecord) -> None:
        self._execute(
            "INSERT OR REPLACE INTO moves "
            "(game_id, turn, player_id, write_id, move, submitted_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                move.game_id,
                move.turn,
                move.player_id,
                move.write_id,
                _dumps(move.move),
                move.submitted_at.isoformat(),
            ),
        )

    def get_move(
        self, game_id: str, turn: int, player_id: str, write_id: str
    ) -> MoveRecord | None:
        row = self._fetchone(
            "SELECT move, submitted_at FROM moves "
            "WHERE game_id = ? AND turn = ? AND player_id = ? AND write_id = ?",
            (game_id, turn, player_id, write_id),
        )
        if row is None:
            return None
        move, submitted_at = row
        return MoveRecord(
            game_id=game_id,
            turn=turn,
            player_id=player_id,
            write_id=write_id,
            move=json.loads(move),
            submitted_at=datetime.fromisoformat(submitted_at),
        )

    # -- resolved turns --------------------------------------------------

    def put_turn(self, turn: TurnRecord) -> None:
        self._execute(
            "INSERT OR REPLACE INTO turns (game_id, number, doc) VALUES (?, ?, ?)",
            (turn.game_id, turn.number, _dumps(turn.to_dict())),
        )

    def get_turn(self, game_id: str, number: int) -> TurnRecord | None:
        row = self._fetchone(
            "SELECT doc FROM turns WHERE game_id = ? AND number = ?",
            (game_id, number),
        )
        return None if row is None else _turn(game_id, number, row[0])

    def list_turns(
        self, game_id: str, first: int, last: int, limit: int
    ) -> list[TurnRecord]:
        rows = self._fetchall(
            "SELECT number, doc FROM turns WHERE game_id = ? "
            "AND number >= ? AND number <= ? ORDER BY number LIMIT ?",
            (game_id, first, last, limit),
        )
        return [_turn(game_id, number, doc) for number, doc in rows]

    # -- chat ------------------------------------------------------------

    def put_chat_line(self, line: ChatLine) -> None:
        self._execute(INSERT_CHAT_LINE, _chat_row(line))

    def put_chat_lines(self, lines: list[ChatLine]) -> None:
        # One transaction for the whole list, because a commit per line costs
        # a write to the WAL each.
        rows = [_chat_row(line) for line in lines]
        with self._errors():
            conn = self._conn()
            conn.execute("BEGIN")
            try:
                conn.executemany(INSERT_CHAT_LINE, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def get_chat_line(self, game_id: str, seq: int) -> ChatLine | None:
        row = self._fetchone(
            "SELECT seq, player_id, text, sent_at, client_id FROM chat "
            "WHERE game_id = ? AND seq = ?",
            (game_id, seq),
        )
        return None if row is None else _chat_line(game_id, row)

    def list_chat(
        self, game_id: str, first: int, last: int, limit: int, newest_first: bool
    ) -> list[ChatLine]:
        order = "DESC" if newest_first else "ASC"
        rows = self._fetchall(
            "SELECT seq, player_id, text, sent_at, client_id FROM chat "
            f"WHERE game_id = ? AND seq >= ? AND seq <= ? ORDER BY seq {order} "
            "LIMIT ?",
            (game_id, first, last, limit),
        )
        return [_chat_line(game_id, row) for row in rows]

    def put_chat_client_id(
        self, game_id: str, player_id: str, client_id: str, seq: int
    ) -> None:
        self._execute(
            "INSERT OR REPLACE INTO chat_client_ids "
            "(game_id, player_id, client_id, seq) VALUES (?, ?, ?, ?)",
            (game_id, player_id, client_id, seq),
        )

    def get_chat_client_id(
        self, game_id: str, player_id: str, client_id: str
    ) -> int | None:
        row = self._fetchone(
            "SELECT seq FROM chat_client_ids "
            "WHERE game_id = ? AND player_id = ? AND client_id = ?",
            (game_id, player_id, client_id),
        )
        return None if row is None else row[0]

    # -- rate limits -----------------------------------------------------

    def hit_rate_limit(
        self, key: str, window_start: int, window_seconds: int, limit: int
    ) -> int | None:
        if limit < 1:
            return None
        rows = self._fetchall(HIT_RATE_LIMIT, (key, window_start, limit))
        return rows[0][0] if rows else None

    # -- webhook outbox --------------------------------------------------

    def add_outbox_game(self, game_id: str, version: int) -> None:
        self._execute(
            "INSERT INTO outbox_games (game_id, version) VALUES (?, ?) "
            "ON CONFLICT (game_id) DO UPDATE "
            "SET version = MAX(outbox_games.version, excluded.version)",
            (game_id, version),
        )

    def remove_outbox_game(self, game_id: str, version: int) -> None:
        self._execute(
            "DELETE FROM outbox_games WHERE game_id = ? AND version <= ?",
            (game_id, version),
        )

    def list_outbox_game_ids(self, limit: int) -> list[str]:
        rows = self._fetchall(
            "SELECT game_id FROM outbox_games ORDER BY version LIMIT ?", (limit,)
        )
        return [row[0] for row in rows]

    def get_outbox_cursor(self, game_id: str) -> int:
        row = self._fetchone(
            "SELECT version FROM outbox_cursors WHERE game_id = ?", (game_id,)
        )
        return 0 if row is None else row[0]

    def set_outbox_cursor(self, game_id: str, version: int) -> None:
        self._execute(
            "INSERT INTO outbox_cursors (game_id, version) VALUES (?, ?) "
            "ON CONFLICT (game_id) DO UPDATE "
            "SET version = MAX(outbox_cursors.version, excluded.version)",
            (game_id, version),
        )


class _TranslateErrors:
    """Turn sqlite3's operational errors into StorageUnavailable."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, sqlite3.OperationalError):
            logger.error("SQLite database %s failed: %s", self.path, exc)
            raise StorageUnavailable(
                f"SQLite database {self.path} failed: {exc}"
            ) from exc
        return False


def _player(row) -> PlayerRecord | None:
    if row is None:
        return None
    player_id, name, token_hash, created_at = row
    return PlayerRecord(
        id=player_id,
        name=name,
        token_hash=token_hash,
        created_at=datetime.fromisoformat(created_at),
    )


def _turn(game_id: str, number: int, doc: str) -> TurnRecord:
    return TurnRecord.from_dict(game_id, {**json.loads(doc), "number": number})


INSERT_CHAT_LINE = (
    "INSERT OR REPLACE INTO chat (game_id, seq, player_id, text, sent_at, client_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def _chat_row(line: ChatLine) -> tuple:
    return (
        line.game_id,
        line.seq,
        line.player_id,
        line.text,
        line.sent_at.isoformat(),
        line.client_id,
    )


def _chat_line(game_id: str, row) -> ChatLine:
    seq, player_id, text, sent_at, client_id = row
    return ChatLine(
        game_id=game_id,
        seq=seq,
        player_id=player_id,
        text=text,
        sent_at=datetime.fromisoformat(sent_at),
        client_id=client_id,
    )
