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
from datetime import datetime
from pathlib import Path

from .base import Storage, StorageUnavailable, WriteConflict
from .records import ChatLine, GameRecord, MoveRecord, PlayerRecord, TurnRecord

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
"""


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
            "INSERT INTO players (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
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
            "INSERT OR IGNORE INTO games (id, status, version, doc) VALUES (?, ?, ?, ?)",
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
        self._execute(
            "INSERT OR REPLACE INTO chat "
            "(game_id, seq, player_id, text, sent_at, client_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                line.game_id,
                line.seq,
                line.player_id,
                line.text,
                line.sent_at.isoformat(),
                line.client_id,
            ),
        )

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
