"""Cassandra storage backend, through the `cassandra-driver` package.

The games row is the commit point, so it is written only by lightweight
transactions: `insert_game` is `INSERT ... IF NOT EXISTS` and `update_game`
is `UPDATE ... IF version = ?`. No plain write touches that table, because
Cassandra orders plain and conditional writes to one row by timestamps from
different clocks, so a plain write can silently lose. Every other table
takes plain upserts, which are safe to repeat.

Times are stored as ISO 8601 text: a Cassandra timestamp keeps milliseconds
only, and the records carry microseconds.

The tables are in `storage/cql/`, and `storage.schema.apply_schema` creates
them (`python manage.py apply_schema`, or `create_schema=True`).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import zlib
from collections import namedtuple
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import groupby
from uuid import uuid1

from cassandra import (
    ConsistencyLevel,
    CoordinationFailure,
    InvalidRequest,
    OperationTimedOut,
    ProtocolVersion,
    Timeout,
    Unavailable,
)
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResultSet,
    Session,
)
from cassandra.concurrent import execute_concurrent
from cassandra.connection import ConnectionException
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    RetryPolicy,
    TokenAwarePolicy,
)
from cassandra.protocol import (
    ErrorMessage,
    IsBootstrappingErrorMessage,
    OverloadedErrorMessage,
)
from cassandra.query import (
    BatchStatement,
    BatchType,
    PreparedStatement,
    named_tuple_factory,
)

from . import schema
from .base import Storage, StorageError, StorageUnavailable, WriteConflict
from .records import (
    ChatLine,
    DueEntry,
    GameRecord,
    MoveRecord,
    PlayerRecord,
    TurnRecord,
)

logger = logging.getLogger(__name__)

# Rows per partition of the turns and chat tables. A partition is
# (game_id, number // TURN_BUCKET_SIZE) or (game_id, seq // CHAT_BUCKET_SIZE),
# so no partition grows without bound. Changing either needs a data migration.
TURN_BUCKET_SIZE = 1000
CHAT_BUCKET_SIZE = 10000

# Version reads in flight when `get_game_versions` reads many games at once.
GAME_VERSION_CONCURRENCY = 32
# Partitions of the outbox_games table; changing it needs a data migration.
OUTBOX_SHARDS = 16

# Lines per batch and batches in flight when `put_chat_lines` writes in bulk.
CHAT_BATCH_LINES = 20
CHAT_BATCH_CONCURRENCY = 16

# Microseconds of deadlines per partition of the due_games table: one minute.
DUE_BUCKET_MICROS = 60_000_000
# The scan of due_games moves its kept position only past minutes that ended
# this long before the time it lists up to, so that a host whose clock lags
# the worker's by less can still add entries behind the position.
DUE_SCAN_MARGIN_MICROS = 300_000_000
# Partitions that one list_due call reads at most, so that a worker far
# behind (stopped for days) catches up over several calls.
DUE_SCAN_MAX_BUCKETS = 1440
DUE_SCAN_ROW = "due"
# Compare-and-set attempts of add_due to move the scan position back before
# it gives up, which only heavy contention on the position exhausts.
DUE_SCAN_WRITE_TRIES = 5

# Driver errors that mean Cassandra could not be reached or did not respond in
# time. They become StorageUnavailable.
UNAVAILABLE_ERRORS = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    Timeout,  # ReadTimeout and WriteTimeout
    CoordinationFailure,  # ReadFailure and WriteFailure
    ConnectionException,
    OverloadedErrorMessage,
    IsBootstrappingErrorMessage,
)

# Error code 0x1700, CAS_WRITE_UNKNOWN, of native protocol v5: a contended
# conditional write that may or may not complete (native_protocol_v5.spec).
# cassandra-driver 3.30.1 has no class for it and raises a bare ErrorMessage.
CAS_WRITE_UNKNOWN = 0x1700


class ConditionalWriteRetryPolicy(RetryPolicy):
    """The driver's RetryPolicy, minus resending after a connection error.

    The default policy sends a statement to the next host when its
    connection fails, even when the first host may have applied it. A
    conditional write sent twice reports "not applied" for its own first
    attempt, so such a failure must reach `_settle_unknown_write` instead.
    Server errors (overloaded, bootstrapping) are not resent either.
    """

    def on_request_error(self, query, consistency, error, retry_num):
        return self.RETHROW, None


CONDITIONAL_WRITE_RETRY_POLICY = ConditionalWriteRetryPolicy()

# The execution profile of plain reads and writes (`_execute`). It differs
# from the default profile only in its row factory.
EXEC_PROFILE_PLAIN = "lockstep_plain"


@lru_cache(maxsize=256)
def _row_class(column_names: tuple[str, ...]) -> type:
    return namedtuple("Row", column_names)


def cached_named_tuple_factory(column_names, rows) -> list:
    """Return rows as named tuples, as the driver's `named_tuple_factory` does.

    The driver's factory builds a new namedtuple class for every result. On
    a worker serving 304 polls, py-spy put that at about an eighth of the
    process's CPU time, so the classes are kept by column names here. The
    driver's `ResultSet.was_applied` accepts only its own factories, so
    conditional writes keep the default profile.
    """
    try:
        row_class = _row_class(tuple(column_names))
    except ValueError:
        # A column name that is not an identifier, such as "[applied]".
        return named_tuple_factory(column_names, rows)
    return [row_class(*row) for row in rows]


# CQL of every statement, prepared once per connection. `{keyspace}` is
# replaced by the keyspace name.
STATEMENTS = {
    "insert_player": (
        "INSERT INTO {keyspace}.players (id, name, token_hash, created_at) "
        "VALUES (?, ?, ?, ?)"
    ),
    "insert_player_token": (
        "INSERT INTO {keyspace}.players_by_token_hash "
        "(token_hash, player_id, name, created_at) VALUES (?, ?, ?, ?)"
    ),
    "select_player": (
        "SELECT name, token_hash, created_at FROM {keyspace}.players WHERE id = ?"
    ),
    "select_player_by_token": (
        "SELECT player_id, name, created_at FROM {keyspace}.players_by_token_hash "
        "WHERE token_hash = ?"
    ),
    "insert_game": (
        "INSERT INTO {keyspace}.games (id, status, version, doc) "
        "VALUES (?, ?, ?, ?) IF NOT EXISTS"
    ),
    "update_game": (
        "UPDATE {keyspace}.games SET status = ?, version = ?, doc = ? "
        "WHERE id = ? IF version = ?"
    ),
    "select_game": "SELECT status, version, doc FROM {keyspace}.games WHERE id = ?",
    "insert_player_game": (
        "INSERT INTO {keyspace}.player_games (player_id, game_id) VALUES (?, ?)"
    ),
    "select_player_games": (
        "SELECT game_id FROM {keyspace}.player_games WHERE player_id = ?"
    ),
    "select_open_game_position": (
        "SELECT ruleset, position FROM {keyspace}.open_game_positions WHERE game_id = ?"
    ),
    "insert_open_game_position": (
        "INSERT INTO {keyspace}.open_game_positions (game_id, ruleset, position) "
        "VALUES (?, ?, ?)"
    ),
    "delete_open_game_position": (
        "DELETE FROM {keyspace}.open_game_positions WHERE game_id = ?"
    ),
    "insert_open_game": (
        "INSERT INTO {keyspace}.open_games (ruleset, position, game_id) "
        "VALUES (?, ?, ?)"
    ),
    "delete_open_game": (
        "DELETE FROM {keyspace}.open_games WHERE ruleset = ? AND position = ?"
    ),
    "select_open_games": (
        "SELECT game_id FROM {keyspace}.open_games WHERE ruleset = ? LIMIT ?"
    ),
    "insert_match_game": (
        "INSERT INTO {keyspace}.match_queue (match_key, created_us, game_id) "
        "VALUES (?, ?, ?)"
    ),
    "delete_match_game": (
        "DELETE FROM {keyspace}.match_queue "
        "WHERE match_key = ? AND created_us = ? AND game_id = ?"
    ),
    "select_match_games": (
        "SELECT game_id FROM {keyspace}.match_queue WHERE match_key = ? LIMIT ?"
    ),
    "insert_due": (
        "INSERT INTO {keyspace}.due_games (bucket, due_us, game_id) VALUES (?, ?, ?)"
    ),
    "delete_due": (
        "DELETE FROM {keyspace}.due_games "
        "WHERE bucket = ? AND due_us = ? AND game_id = ?"
    ),
    "select_due": (
        "SELECT due_us, game_id FROM {keyspace}.due_games "
        "WHERE bucket = ? AND due_us <= ? LIMIT ?"
    ),
    "select_due_scan": "SELECT bucket FROM {keyspace}.due_scan WHERE name = ?",
    "insert_due_scan": (
        "INSERT INTO {keyspace}.due_scan (name, bucket) VALUES (?, ?) IF NOT EXISTS"
    ),
    "move_due_scan": (
        "UPDATE {keyspace}.due_scan SET bucket = ? WHERE name = ? IF bucket = ?"
    ),
    "insert_move": (
        "INSERT INTO {keyspace}.moves "
        "(game_id, turn, player_id, write_id, move, submitted_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "select_move": (
        "SELECT move, submitted_at FROM {keyspace}.moves "
        "WHERE game_id = ? AND turn = ? AND player_id = ? AND write_id = ?"
    ),
    "insert_turn": (
        "INSERT INTO {keyspace}.turns (game_id, bucket, number, doc) "
        "VALUES (?, ?, ?, ?)"
    ),
    "select_turn": (
        "SELECT doc FROM {keyspace}.turns "
        "WHERE game_id = ? AND bucket = ? AND number = ?"
    ),
    "select_turns": (
        "SELECT number, doc FROM {keyspace}.turns "
        "WHERE game_id = ? AND bucket = ? AND number >= ? AND number <= ? LIMIT ?"
    ),
    "insert_chat_line": (
        "INSERT INTO {keyspace}.chat "
        "(game_id, bucket, seq, player_id, text, sent_at, client_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    "select_chat_line": (
        "SELECT seq, player_id, text, sent_at, client_id FROM {keyspace}.chat "
        "WHERE game_id = ? AND bucket = ? AND seq = ?"
    ),
    "select_chat_ascending": (
        "SELECT seq, player_id, text, sent_at, client_id FROM {keyspace}.chat "
        "WHERE game_id = ? AND bucket = ? AND seq >= ? AND seq <= ? "
        "ORDER BY seq ASC LIMIT ?"
    ),
    "select_chat_descending": (
        "SELECT seq, player_id, text, sent_at, client_id FROM {keyspace}.chat "
        "WHERE game_id = ? AND bucket = ? AND seq >= ? AND seq <= ? "
        "ORDER BY seq DESC LIMIT ?"
    ),
    "insert_chat_client_id": (
        "INSERT INTO {keyspace}.chat_client_ids (game_id, player_id, client_id, seq) "
        "VALUES (?, ?, ?, ?)"
    ),
    "select_chat_client_id": (
        "SELECT seq FROM {keyspace}.chat_client_ids "
        "WHERE game_id = ? AND player_id = ? AND client_id = ?"
    ),
    "select_rate_limit": (
        "SELECT count FROM {keyspace}.rate_limits WHERE key = ? AND window_start = ?"
    ),
    "insert_rate_limit": (
        "INSERT INTO {keyspace}.rate_limits (key, window_start, count) "
        "VALUES (?, ?, 1) IF NOT EXISTS USING TTL ?"
    ),
    "update_rate_limit": (
        "UPDATE {keyspace}.rate_limits USING TTL ? SET count = ? "
        "WHERE key = ? AND window_start = ? IF count = ?"
    ),
    "select_game_version": "SELECT version FROM {keyspace}.games WHERE id = ?",
    "insert_outbox_game": (
        "INSERT INTO {keyspace}.outbox_games (shard, game_id, version) "
        "VALUES (?, ?, ?) USING TIMESTAMP ?"
    ),
    "delete_outbox_game": (
        "DELETE FROM {keyspace}.outbox_games USING TIMESTAMP ? "
        "WHERE shard = ? AND game_id = ?"
    ),
    "select_outbox_games": (
        "SELECT game_id FROM {keyspace}.outbox_games WHERE shard = ? LIMIT ?"
    ),
    "insert_outbox_cursor": (
        "INSERT INTO {keyspace}.outbox_cursors (game_id, version) "
        "VALUES (?, ?) USING TIMESTAMP ?"
    ),
    "select_outbox_cursor": (
        "SELECT version FROM {keyspace}.outbox_cursors WHERE game_id = ?"
    ),
    "ping": "SELECT release_version FROM system.local",
}

# Compare-and-set attempts of one rate-limit hit before it gives up and
# counts the request as over the limit. Each lost attempt means another
# request of the same key won, so only a burst of one player's requests
# far above the limit exhausts them.
RATE_LIMIT_MAX_TRIES = 12

# Commit ids kept in a game's document (GameRecord.commit_ids). A write
# whose outcome is unknown can be settled as long as fewer than this many
# commits followed it.
KEPT_COMMIT_IDS = 32

# Rate-limit hits in flight at once in one process. Requests beyond it queue
# for a pool thread.
RATE_LIMIT_THREADS = 16

# Seconds a rate-limit row lives beyond its window, to cover clock skew
# between the app hosts.
RATE_LIMIT_TTL_MARGIN = 60


@contextmanager
def _new_commit_id(game: GameRecord) -> Iterator[str]:
    """Append a new random id for the commit of `game.version` to the game.

    The id is removed again if the block raises, so that a game whose write
    failed keeps the history of what was committed.
    """
    previous = game.commit_ids
    commit_id = secrets.token_hex(8)
    game.commit_ids = [*previous[-(KEPT_COMMIT_IDS - 1) :], commit_id]
    try:
        yield commit_id
    except BaseException:
        game.commit_ids = previous
        raise


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _consistency_level(name: str, setting: str) -> int:
    try:
        return ConsistencyLevel.name_to_value[name]
    except KeyError:
        choices = ", ".join(sorted(ConsistencyLevel.name_to_value))
        raise ValueError(f"Invalid {setting} {name!r}: use one of {choices}.") from None


class CassandraStorage(Storage):
    """Storage in a Cassandra keyspace.

    `hosts` are the contact points, as a list or a comma-separated string,
    and `port` their CQL native transport port. `consistency` applies to
    every read and write and `serial_consistency` to the Paxos phase of the
    conditional writes on the games row. `connect_timeout` bounds opening a
    connection and `request_timeout` each request, in seconds, so a
    Cassandra that is down or hung costs a caller a few seconds, not a hang.
    `local_dc` names the datacenter to send requests to; by default the
    driver takes the datacenter of the first contact point.

    With `create_schema` the first connection creates the keyspace with
    `replication` and applies the CQL files in `storage/cql/`. Otherwise
    the keyspace must exist (`python manage.py apply_schema`).

    The driver's Cluster and Session are created on first use, after
    gunicorn has forked its workers, and are shared by all threads.
    """

    def __init__(
        self,
        hosts: list[str] | str = "127.0.0.1",
        port: int = 9042,
        keyspace: str = "lockstep",
        consistency: str = "LOCAL_QUORUM",
        serial_consistency: str = "LOCAL_SERIAL",
        connect_timeout: float = 5.0,
        request_timeout: float = 5.0,
        create_schema: bool = False,
        replication: str = "{'class': 'SimpleStrategy', 'replication_factor': 1}",
        local_dc: str | None = None,
    ):
        if isinstance(hosts, str):
            hosts = [host.strip() for host in hosts.split(",") if host.strip()]
        if not hosts:
            raise ValueError(
                "Invalid hosts: give at least one Cassandra contact point."
            )
        self.hosts = list(hosts)
        self.port = port
        self.keyspace = schema.check_keyspace_name(keyspace)
        self.consistency = _consistency_level(consistency, "consistency")
        self.serial_consistency = _consistency_level(
            serial_consistency, "serial_consistency"
        )
        if self.serial_consistency not in (
            ConsistencyLevel.SERIAL,
            ConsistencyLevel.LOCAL_SERIAL,
        ):
            raise ValueError(
                f"Invalid serial_consistency {serial_consistency!r}: "
                "use SERIAL or LOCAL_SERIAL."
            )
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.create_schema = create_schema
        self.replication = replication
        self.local_dc = local_dc

        self._cluster: Cluster | None = None
        # (session, prepared statements by name), replaced as one value so
        # that a thread never pairs a session with another one's statements.
        self._connection: tuple[Session, dict[str, PreparedStatement]] | None = None
        self._connect_lock = threading.Lock()
        # Threads that count rate-limit hits while the request goes on
        # (hit_rate_limit_async), started on first use.
        self._rate_limit_pool: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"CassandraStorage({self._address()}, keyspace={self.keyspace!r})"

    def _address(self) -> str:
        return ",".join(f"{host}:{self.port}" for host in self.hosts)

    # -- connection ------------------------------------------------------

    def _new_cluster(self) -> Cluster:
        profiles = {
            name: ExecutionProfile(
                load_balancing_policy=TokenAwarePolicy(
                    DCAwareRoundRobinPolicy(local_dc=self.local_dc or "")
                ),
                retry_policy=RetryPolicy(),
                consistency_level=self.consistency,
                serial_consistency_level=self.serial_consistency,
                request_timeout=self.request_timeout,
                row_factory=row_factory,
            )
            for name, row_factory in (
                (EXEC_PROFILE_DEFAULT, named_tuple_factory),
                (EXEC_PROFILE_PLAIN, cached_named_tuple_factory),
            )
        }
        return Cluster(
            contact_points=self.hosts,
            port=self.port,
            # Cassandra 5.0 speaks native protocol v4 and v5. cassandra-driver
            # 3.30.1 wraps v5 messages in segments whose header checksum it
            # computes in pure Python: a read of a game took about 400 us of
            # client CPU on v5 against 300 us on v4 (docs/performance.md).
            # Lockstep needs nothing from v5. A contended conditional write
            # fails with WriteTimeout(CAS) on v4 instead of CAS_WRITE_UNKNOWN,
            # and both are settled the same way. A fixed version also keeps
            # the driver from trying DataStax versions 66 and 65 first, which
            # logs a warning each time it steps down.
            protocol_version=ProtocolVersion.V4,
            execution_profiles=profiles,
            connect_timeout=self.connect_timeout,
            control_connection_timeout=self.connect_timeout,
            # The driver's default waits up to 600 s between attempts to
            # reconnect to a node that went down and gives up after 64.
            # Requests fail fast while a node is down, so it should be back
            # in use within seconds of coming up, however long it was away.
            reconnection_policy=ExponentialReconnectionPolicy(
                base_delay=0.5, max_delay=10.0, max_attempts=None
            ),
        )

    def _connect(self) -> tuple[Session, dict[str, PreparedStatement]]:
        """Return the shared session and statements, connecting on first use."""
        connection = self._connection
        if connection is not None:
            return connection
        # Bounded, so that threads queued behind a connect attempt to a hung
        # host give up instead of waiting for each other in turn.
        if not self._connect_lock.acquire(timeout=self.connect_timeout):
            raise StorageUnavailable(
                f"Timed out after {self.connect_timeout} s waiting for another "
                f"thread to connect to Cassandra at {self._address()}."
            )
        try:
            if self._connection is None:
                self._open()
            return self._connection
        finally:
            self._connect_lock.release()

    def _open(self) -> None:
        cluster = self._new_cluster()
        try:
            session = cluster.connect()
            if self.create_schema:
                schema.apply_schema(session, self.keyspace, self.replication)
            statements = {
                name: session.prepare(cql.replace("{keyspace}", self.keyspace))
                for name, cql in STATEMENTS.items()
            }
        except UNAVAILABLE_ERRORS as exc:
            cluster.shutdown()
            logger.error(
                "Connecting to Cassandra at %s failed: %s", self._address(), exc
            )
            raise StorageUnavailable(
                f"Connecting to Cassandra at {self._address()} failed: {exc}"
            ) from exc
        except InvalidRequest as exc:
            cluster.shutdown()
            raise StorageError(
                f"Preparing statements in keyspace {self.keyspace} failed: {exc}. "
                "Create the schema with 'python manage.py apply_schema'."
            ) from exc
        except BaseException:
            cluster.shutdown()
            raise
        self._cluster = cluster
        self._connection = (session, statements)

    def ping(self) -> None:
        self._execute("ping", (), "ping")

    def close(self) -> None:
        """Shut down the driver's connections. The next call reconnects."""
        with self._connect_lock:
            cluster = self._cluster
            self._cluster = None
            self._connection = None
            pool, self._rate_limit_pool = self._rate_limit_pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        if cluster is not None:
            cluster.shutdown()

    def apply_schema(self) -> list[str]:
        """Create the keyspace and tables if missing and return the versions applied."""
        cluster = self._new_cluster()
        try:
            return schema.apply_schema(
                cluster.connect(), self.keyspace, self.replication
            )
        except UNAVAILABLE_ERRORS as exc:
            raise StorageUnavailable(
                f"Applying the schema of keyspace {self.keyspace} on Cassandra at "
                f"{self._address()} failed: {exc}"
            ) from exc
        finally:
            cluster.shutdown()

    # -- statement execution ---------------------------------------------

    def _bind(self, name: str, params: tuple, serial: bool = False):
        _, statements = self._connect()
        bound = statements[name].bind(params)
        if serial:
            # A read at SERIAL or LOCAL_SERIAL runs a Paxos round, so it returns
            # the outcome of every conditional write that may have applied.
            bound.consistency_level = self.serial_consistency
        return bound

    def _bind_conditional(self, name: str, params: tuple):
        bound = self._bind(name, params)
        bound.retry_policy = CONDITIONAL_WRITE_RETRY_POLICY
        return bound

    def _run(self, statement) -> ResultSet:
        """Execute a bound statement or batch, letting driver errors propagate.

        Statements bound by `_bind_conditional` run on the default profile,
        whose results support `ResultSet.was_applied`. Every other statement
        runs on EXEC_PROFILE_PLAIN, whose rows come from
        `cached_named_tuple_factory`, where `was_applied` raises RuntimeError.
        """
        session, _ = self._connect()
        if getattr(statement, "retry_policy", None) is CONDITIONAL_WRITE_RETRY_POLICY:
            profile = EXEC_PROFILE_DEFAULT
        else:
            profile = EXEC_PROFILE_PLAIN
        return session.execute(statement, execution_profile=profile)

    def _execute(
        self, name: str, params: tuple, operation: str, serial: bool = False
    ) -> ResultSet:
        """Execute a prepared statement, mapping driver errors to StorageUnavailable."""
        try:
            return self._run(self._bind(name, params, serial))
        except UNAVAILABLE_ERRORS as exc:
            raise self._unavailable(operation, exc) from exc

    def _unavailable(self, operation: str, exc: BaseException) -> StorageUnavailable:
        message = f"Cassandra at {self._address()} failed to {operation}: {exc!r}"
        logger.error("%s", message)
        return StorageUnavailable(message)

    # -- players ---------------------------------------------------------

    def insert_player(self, player: PlayerRecord) -> None:
        # A logged batch, so that both rows exist or neither does. Token
        # hashes are not checked for uniqueness, because they hash random tokens.
        created_at = player.created_at.isoformat()
        batch = BatchStatement(batch_type=BatchType.LOGGED)
        batch.add(
            self._bind(
                "insert_player", (player.id, player.name, player.token_hash, created_at)
            )
        )
        batch.add(
            self._bind(
                "insert_player_token",
                (player.token_hash, player.id, player.name, created_at),
            )
        )
        try:
            self._run(batch)
        except UNAVAILABLE_ERRORS as exc:
            raise self._unavailable(f"insert player {player.id}", exc) from exc

    def get_player(self, player_id: str) -> PlayerRecord | None:
        row = self._execute(
            "select_player", (player_id,), f"read player {player_id}"
        ).one()
        if row is None:
            return None
        return PlayerRecord(
            id=player_id,
            name=row.name,
            token_hash=row.token_hash,
            created_at=datetime.fromisoformat(row.created_at),
        )

    def get_player_by_token_hash(self, token_hash: str) -> PlayerRecord | None:
        row = self._execute(
            "select_player_by_token", (token_hash,), "read a player by token hash"
        ).one()
        if row is None:
            return None
        return PlayerRecord(
            id=row.player_id,
            name=row.name,
            token_hash=token_hash,
            created_at=datetime.fromisoformat(row.created_at),
        )

    # -- games -----------------------------------------------------------

    def insert_game(self, game: GameRecord) -> None:
        with _new_commit_id(game) as commit_id:
            doc = _dumps(game.document())
            statement = self._bind_conditional(
                "insert_game", (game.id, game.status, game.version, doc)
            )
            try:
                result = self._run(statement)
            except UNAVAILABLE_ERRORS + (ErrorMessage,) as exc:
                self._settle_unknown_write(game, commit_id, None, exc)
                return
            if not result.was_applied:
                raise WriteConflict(f"Game {game.id} already exists.")

    def get_game(self, game_id: str) -> GameRecord | None:
        row = self._execute("select_game", (game_id,), f"read game {game_id}").one()
        if row is None:
            return None
        return GameRecord.from_document(
            game_id, row.status, row.version, json.loads(row.doc)
        )

    def get_game_versions(self, game_ids: list[str]) -> dict[str, int]:
        if not game_ids:
            return {}
        session, statements = self._connect()
        statement = statements["select_game_version"]
        try:
            results = execute_concurrent(
                session,
                [(statement, (game_id,)) for game_id in game_ids],
                concurrency=GAME_VERSION_CONCURRENCY,
            )
        except UNAVAILABLE_ERRORS as exc:
            raise self._unavailable(
                f"read the versions of {len(game_ids)} games", exc
            ) from exc
        versions = {}
        for game_id, (_, rows) in zip(game_ids, results, strict=True):
            row = rows.one()
            if row is not None:
                versions[game_id] = row.version
        return versions

    def update_game(self, game: GameRecord, expected_version: int) -> None:
        with _new_commit_id(game) as commit_id:
            doc = _dumps(game.document())
            statement = self._bind_conditional(
                "update_game",
                (game.status, game.version, doc, game.id, expected_version),
            )
            try:
                result = self._run(statement)
            except UNAVAILABLE_ERRORS + (ErrorMessage,) as exc:
                self._settle_unknown_write(game, commit_id, expected_version, exc)
                return
            if result.was_applied:
                return
            # A failed condition returns the current version, or no version
            # when the row does not exist.
            stored_version = getattr(result.one(), "version", None)
            raise WriteConflict(
                f"Game {game.id} is no longer at version {expected_version}: "
                f"it is at version {stored_version}."
            )

    def _settle_unknown_write(
        self,
        game: GameRecord,
        commit_id: str,
        expected_version: int | None,
        exc: BaseException,
    ) -> None:
        """Learn whether a conditional write on the games row applied.

        Called for any driver failure of the write. A WriteTimeout of type
        CAS or SIMPLE (the Paxos or its commit phase timed out),
        CAS_WRITE_UNKNOWN, a client timeout or a lost connection leave the
        outcome open: the Paxos proposal may be in flight and could still
        be applied later. Other failures (Unavailable, no host up) mean the
        write never started, and the read below confirms that or fails too.

        Reading the row back at SERIAL consistency runs a Paxos round of its
        own, which completes an accepted proposal or makes sure it can no
        longer be accepted. So what the read returns is final. The write
        applied if and only if its `commit_id` is in the commit ids of the
        stored document at the position of this write's version:

        - it is: return as if the write had succeeded, even when later
          writers have committed on top of it;
        - the stored history reaches back to this write's version without
          it, or the row is missing: nothing applied, so raise WriteConflict
          when another writer committed that version, else
          StorageUnavailable, and the caller may retry;
        - more than KEPT_COMMIT_IDS commits followed, or the read fails too:
          raise StorageUnavailable with `outcome_unknown` set.

        Replaying the write instead would need the lock that the caller may
        have lost.

        NOTE: this relies on SERIAL reads being linearizable, which holds
        for Cassandra 5.0 but not for releases without the fix for
        CASSANDRA-12126.
        """
        if isinstance(exc, ErrorMessage) and not isinstance(exc, UNAVAILABLE_ERRORS):
            if exc.code != CAS_WRITE_UNKNOWN:
                raise exc
        action = "insert" if expected_version is None else "update"
        logger.warning(
            "Conditional %s of game %s to version %s failed with %r, so reading "
            "the game back at serial consistency to learn whether it applied",
            action,
            game.id,
            game.version,
            exc,
        )
        purpose = f"learn whether the {action} to version {game.version} applied"
        try:
            row = self._read_game_serial(game.id, purpose)
        except StorageUnavailable as read_error:
            raise StorageUnavailable(
                f"Cassandra at {self._address()} failed to {action} game {game.id} "
                f"to version {game.version} and then to read it back, so whether "
                f"the write applied is unknown ({exc!r})",
                outcome_unknown=True,
            ) from read_error
        if row is None:
            if expected_version is not None:
                raise WriteConflict(f"Game {game.id} does not exist.")
            raise self._unavailable(
                f"insert game {game.id} in time, and the write did not apply ({exc!r})",
                exc,
            )

        stored_ids = json.loads(row.doc).get("commit_ids", [])
        # stored_ids[-1] is the commit of row.version, so this write's
        # version sits `row.version - game.version` places before it.
        index = len(stored_ids) - 1 - (row.version - game.version)
        if row.version >= game.version and index >= 0:
            if stored_ids[index] == commit_id:
                logger.warning(
                    "Conditional %s of game %s to version %s applied",
                    action,
                    game.id,
                    game.version,
                )
                return
            raise WriteConflict(
                f"Game {game.id} was committed at version {game.version} by "
                f"another writer."
            )
        if row.version < game.version:
            # The version this write would have made was never committed.
            raise self._unavailable(
                f"{action} game {game.id} to version {game.version} in time, and "
                f"the write did not apply ({exc!r})",
                exc,
            )
        message = (
            f"Cassandra at {self._address()} failed to {action} game {game.id} to "
            f"version {game.version} in time, and the game has since moved on to "
            f"version {row.version}, past the commit ids it keeps, so whether "
            f"the write applied is unknown ({exc!r})"
        )
        logger.error("%s", message)
        raise StorageUnavailable(message, outcome_unknown=True)

    def _read_game_serial(self, game_id: str, purpose: str):
        return self._execute(
            "select_game",
            (game_id,),
            f"read game {game_id} at serial consistency to {purpose}",
            serial=True,
        ).one()

    def add_player_game(self, player_id: str, game_id: str) -> None:
        self._execute(
            "insert_player_game",
            (player_id, game_id),
            f"index game {game_id} under player {player_id}",
        )

    def list_player_game_ids(self, player_id: str) -> list[str]:
        rows = self._execute(
            "select_player_games", (player_id,), f"list games of player {player_id}"
        )
        return [row.game_id for row in rows]

    # open_games is clustered by a version 1 UUID so that entries come out
    # oldest first, and deleting one needs that UUID. open_game_positions
    # maps each game to it. Adding writes the position before the entry and
    # removing deletes the entry before the position, so a failure in
    # between leaves a position that a repeated call finds and reuses.

    def add_open_game(self, ruleset: str, game_id: str) -> None:
        operation = f"index open game {game_id} of ruleset {ruleset}"
        row = self._execute("select_open_game_position", (game_id,), operation).one()
        if row is not None and row.ruleset == ruleset:
            # Indexed before: keep its place in the queue.
            position = row.position
        else:
            position = uuid1()
            self._execute(
                "insert_open_game_position", (game_id, ruleset, position), operation
            )
        self._execute("insert_open_game", (ruleset, position, game_id), operation)

    def remove_open_game(self, ruleset: str, game_id: str) -> None:
        operation = f"remove open game {game_id} of ruleset {ruleset}"
        row = self._execute("select_open_game_position", (game_id,), operation).one()
        if row is None or row.ruleset != ruleset:
            return
        self._execute("delete_open_game", (ruleset, row.position), operation)
        self._execute("delete_open_game_position", (game_id,), operation)

    def list_open_game_ids(self, ruleset: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        rows = self._execute(
            "select_open_games", (ruleset, limit), f"list open games of {ruleset}"
        )
        return [row.game_id for row in rows]

    # -- matchmaking queue -----------------------------------------------

    def add_match_game(self, match_key: str, game_id: str, created_at) -> None:
        self._execute(
            "insert_match_game",
            (match_key, _epoch_us(created_at), game_id),
            f"queue game {game_id} for matchmaking",
        )

    def remove_match_game(self, match_key: str, game_id: str, created_at) -> None:
        self._execute(
            "delete_match_game",
            (match_key, _epoch_us(created_at), game_id),
            f"remove game {game_id} from the matchmaking queue",
        )

    def list_match_game_ids(self, match_key: str, limit: int) -> list[str]:
        if limit <= 0:
            return []
        rows = self._execute(
            "select_match_games",
            (match_key, limit),
            f"list the matchmaking queue {match_key}",
        )
        return [row.game_id for row in rows]

    # -- due index -------------------------------------------------------

    # due_games is partitioned by minute of the deadline. list_due reads the
    # minutes from the position kept in due_scan up to `until`, and moves the
    # position past leading minutes that are empty and over. add_due moves
    # the position back to its entry's minute when it is ahead of it (the
    # first entry ever, a host whose clock lags, a test clock that went
    # back). Every write of the position is a compare-and-set on the value
    # read, so a move forward never undoes a concurrent move back.

    def add_due(self, game_id: str, due_at) -> None:
        operation = f"index the deadline of game {game_id}"
        due_us = _epoch_us(due_at)
        bucket = due_us // DUE_BUCKET_MICROS
        self._execute("insert_due", (bucket, due_us, game_id), operation)
        for _ in range(DUE_SCAN_WRITE_TRIES):
            position = self._due_scan_position(operation)
            if position is not None and position <= bucket:
                return
            if self._move_due_scan(position, bucket, operation):
                return
        message = (
            f"Failed to {operation}: the due scan position changed during each of "
            f"{DUE_SCAN_WRITE_TRIES} compare-and-set attempts."
        )
        logger.error("%s", message)
        raise StorageUnavailable(message)

    def list_due(self, until, limit: int) -> list[DueEntry]:
        operation = "list due deadlines"
        start = self._due_scan_position(operation)
        if start is None or limit <= 0:
            # No position means that no entry was ever added.
            return []
        until_us = _epoch_us(until)
        last = min(until_us // DUE_BUCKET_MICROS, start + DUE_SCAN_MAX_BUCKETS - 1)
        # Minutes before this one are over on every host within the margin.
        settled = (until_us - DUE_SCAN_MARGIN_MICROS) // DUE_BUCKET_MICROS

        position = start
        entries: list[DueEntry] = []
        for bucket in range(start, last + 1):
            rows = self._execute(
                "select_due", (bucket, until_us, limit - len(entries)), operation
            )
            found = [DueEntry(r.game_id, _from_epoch_us(r.due_us)) for r in rows]
            if not found and bucket == position and bucket < settled:
                position = bucket + 1
            entries.extend(found)
            if len(entries) >= limit:
                break

        if position != start:
            # A lost compare-and-set means that add_due moved the position
            # back meanwhile, which must stand.
            self._move_due_scan(start, position, operation)
        return entries

    def remove_due(self, game_id: str, due_at) -> None:
        due_us = _epoch_us(due_at)
        self._execute(
            "delete_due",
            (due_us // DUE_BUCKET_MICROS, due_us, game_id),
            f"remove a deadline of game {game_id} from the due index",
        )

    def _due_scan_position(self, operation: str) -> int | None:
        row = self._execute("select_due_scan", (DUE_SCAN_ROW,), operation).one()
        return None if row is None else row.bucket

    def _move_due_scan(self, expected: int | None, bucket: int, operation: str) -> bool:
        """Set the due scan position to `bucket` if it is still `expected`.

        Return whether the write applied. An unknown outcome (a timeout of
        the Paxos round) returns False, and the caller reads the position
        again.
        """
        if expected is None:
            name, params = "insert_due_scan", (DUE_SCAN_ROW, bucket)
        else:
            name, params = "move_due_scan", (bucket, DUE_SCAN_ROW, expected)
        try:
            return self._run(self._bind_conditional(name, params)).was_applied
        except UNAVAILABLE_ERRORS + (ErrorMessage,) as exc:
            if isinstance(exc, ErrorMessage) and not isinstance(
                exc, UNAVAILABLE_ERRORS
            ):
                if exc.code != CAS_WRITE_UNKNOWN:
                    raise
            logger.warning("Failed to %s, so reading again: %r", operation, exc)
            return False

    # -- moves -----------------------------------------------------------

    def put_move(self, move: MoveRecord) -> None:
        self._execute(
            "insert_move",
            (
                move.game_id,
                move.turn,
                move.player_id,
                move.write_id,
                _dumps(move.move),
                move.submitted_at.isoformat(),
            ),
            f"store the move of player {move.player_id} in game {move.game_id} "
            f"turn {move.turn}",
        )

    def get_move(
        self, game_id: str, turn: int, player_id: str, write_id: str
    ) -> MoveRecord | None:
        row = self._execute(
            "select_move",
            (game_id, turn, player_id, write_id),
            f"read move {write_id} of player {player_id} in game {game_id} turn {turn}",
        ).one()
        if row is None:
            return None
        return MoveRecord(
            game_id=game_id,
            turn=turn,
            player_id=player_id,
            write_id=write_id,
            move=json.loads(row.move),
            submitted_at=datetime.fromisoformat(row.submitted_at),
        )

    # -- resolved turns --------------------------------------------------

    def put_turn(self, turn: TurnRecord) -> None:
        doc = _dumps(turn.to_dict())
        self._execute(
            "insert_turn",
            (turn.game_id, turn.number // TURN_BUCKET_SIZE, turn.number, doc),
            f"store turn {turn.number} of game {turn.game_id}",
        )

    def get_turn(self, game_id: str, number: int) -> TurnRecord | None:
        row = self._execute(
            "select_turn",
            (game_id, number // TURN_BUCKET_SIZE, number),
            f"read turn {number} of game {game_id}",
        ).one()
        return None if row is None else _turn(game_id, number, row.doc)

    def list_turns(
        self, game_id: str, first: int, last: int, limit: int
    ) -> list[TurnRecord]:
        """Return up to `limit` turns numbered `first` to `last`, ascending.

        Reads one partition after another from the bucket of `first` and
        stops as soon as it has `limit` turns, so the cost depends on the
        page, not on how many turns the game has. Empty buckets inside the
        range are read too, so callers bound `last` by the committed
        `resolved_turns`.
        """
        turns: list[TurnRecord] = []
        operation = f"list turns {first} to {last} of game {game_id}"
        for bucket, low, high in _buckets(first, last, TURN_BUCKET_SIZE, False):
            if len(turns) >= limit:
                break
            rows = self._execute(
                "select_turns",
                (game_id, bucket, low, high, limit - len(turns)),
                operation,
            )
            turns.extend(_turn(game_id, row.number, row.doc) for row in rows)
        return turns

    # -- chat ------------------------------------------------------------

    def put_chat_line(self, line: ChatLine) -> None:
        self._execute(
            "insert_chat_line",
            (
                line.game_id,
                line.seq // CHAT_BUCKET_SIZE,
                line.seq,
                line.player_id,
                line.text,
                line.sent_at.isoformat(),
                line.client_id,
            ),
            f"store chat line {line.seq} of game {line.game_id}",
        )

    def put_chat_lines(self, lines: list[ChatLine]) -> None:
        """Store lines in unlogged batches of one partition each, several at once.

        A batch whose rows share a partition is applied as one write on the
        replica. CHAT_BATCH_LINES keeps a batch of short lines under
        Cassandra's default batch size warning (5 KiB).
        """
        batches = []
        for _, group in groupby(
            lines, key=lambda line: (line.game_id, line.seq // CHAT_BUCKET_SIZE)
        ):
            group = list(group)
            for start in range(0, len(group), CHAT_BATCH_LINES):
                batch = BatchStatement(batch_type=BatchType.UNLOGGED)
                for line in group[start : start + CHAT_BATCH_LINES]:
                    batch.add(self._bind("insert_chat_line", _chat_row(line)))
                batches.append((batch, None))
        session, _ = self._connect()
        try:
            execute_concurrent(session, batches, concurrency=CHAT_BATCH_CONCURRENCY)
        except UNAVAILABLE_ERRORS as exc:
            raise self._unavailable(f"store {len(lines)} chat lines", exc) from exc

    def get_chat_line(self, game_id: str, seq: int) -> ChatLine | None:
        row = self._execute(
            "select_chat_line",
            (game_id, seq // CHAT_BUCKET_SIZE, seq),
            f"read chat line {seq} of game {game_id}",
        ).one()
        return None if row is None else _chat_line(game_id, row)

    def list_chat(
        self, game_id: str, first: int, last: int, limit: int, newest_first: bool
    ) -> list[ChatLine]:
        """Return up to `limit` lines with seq from `first` to `last`.

        Reads one partition after another, from the bucket of `last` down
        when `newest_first` and from the bucket of `first` up otherwise, and
        stops as soon as it has `limit` lines. A page within one bucket is
        one query whatever the length of the chat.
        """
        name = "select_chat_descending" if newest_first else "select_chat_ascending"
        operation = f"list chat lines {first} to {last} of game {game_id}"
        lines: list[ChatLine] = []
        for bucket, low, high in _buckets(first, last, CHAT_BUCKET_SIZE, newest_first):
            if len(lines) >= limit:
                break
            rows = self._execute(
                name, (game_id, bucket, low, high, limit - len(lines)), operation
            )
            lines.extend(_chat_line(game_id, row) for row in rows)
        return lines

    def put_chat_client_id(
        self, game_id: str, player_id: str, client_id: str, seq: int
    ) -> None:
        self._execute(
            "insert_chat_client_id",
            (game_id, player_id, client_id, seq),
            f"store the chat client_id of player {player_id} in game {game_id}",
        )

    def get_chat_client_id(
        self, game_id: str, player_id: str, client_id: str
    ) -> int | None:
        row = self._execute(
            "select_chat_client_id",
            (game_id, player_id, client_id),
            f"read the chat client_id of player {player_id} in game {game_id}",
        ).one()
        return None if row is None else row.seq

    # -- rate limits -----------------------------------------------------

    def hit_rate_limit_async(
        self, key: str, window_start: int, window_seconds: int, limit: int
    ) -> Future[int | None]:
        """Count the request on a pool thread, so that its lightweight
        transaction overlaps with the caller's lock acquire and game read."""
        with self._connect_lock:
            if self._rate_limit_pool is None:
                self._rate_limit_pool = ThreadPoolExecutor(
                    max_workers=RATE_LIMIT_THREADS,
                    thread_name_prefix="lockstep-rate-limit",
                )
            pool = self._rate_limit_pool
        return pool.submit(
            self.hit_rate_limit, key, window_start, window_seconds, limit
        )

    def hit_rate_limit(
        self, key: str, window_start: int, window_seconds: int, limit: int
    ) -> int | None:
        """Count one request with a compare-and-set loop on the window's row.

        Cassandra's counter columns cannot take part in a lightweight
        transaction, so the count is a plain int that moves from n to n + 1
        only `IF count = n`. A lost race returns the current count, and the
        loop tries again from there, up to RATE_LIMIT_MAX_TRIES times.
        """
        if limit < 1:
            return None
        ttl = window_seconds + RATE_LIMIT_TTL_MARGIN
        operation = f"count a request against rate limit {key}"
        row = self._execute("select_rate_limit", (key, window_start), operation).one()
        current = None if row is None else row.count
        for attempt in range(RATE_LIMIT_MAX_TRIES):
            if current is not None and current >= limit:
                return None
            if current is None:
                name = "insert_rate_limit"
                params = (key, window_start, ttl)
            else:
                name = "update_rate_limit"
                params = (ttl, current + 1, key, window_start, current)
            try:
                result = self._run(self._bind_conditional(name, params))
            except UNAVAILABLE_ERRORS as exc:
                raise self._unavailable(operation, exc) from exc
            except ErrorMessage as exc:
                if exc.code != CAS_WRITE_UNKNOWN:
                    raise
                # The write may or may not have applied: read again. A
                # request counted twice this way only makes the limit
                # stricter.
                logger.debug("Rate limit %s: CAS outcome unknown, reading again", key)
                row = self._execute(
                    "select_rate_limit", (key, window_start), operation, serial=True
                ).one()
                current = None if row is None else row.count
                continue
            if result.was_applied:
                return 1 if current is None else current + 1
            # A failed condition returns the stored row, or no count when
            # the row expired in between.
            current = getattr(result.one(), "count", None)
            logger.debug(
                "Rate limit %s: compare-and-set attempt %s lost, count is now %s",
                key,
                attempt + 1,
                current,
            )
        logger.warning(
            "Rate limit %s: gave up after %s contended compare-and-set attempts, "
            "so the request counts as over the limit",
            key,
            RATE_LIMIT_MAX_TRIES,
        )
        return None

    # -- webhook outbox --------------------------------------------------

    # Both tables take USING TIMESTAMP <game version> on every write, see
    # storage/cql/0005_webhook_outbox.cql. On equal timestamps Cassandra lets
    # the delete win, so a removal at version v also drops a mark added at v.

    def add_outbox_game(self, game_id: str, version: int) -> None:
        self._execute(
            "insert_outbox_game",
            (_outbox_shard(game_id), game_id, version, version),
            f"mark game {game_id} as having webhook events",
        )

    def remove_outbox_game(self, game_id: str, version: int) -> None:
        self._execute(
            "delete_outbox_game",
            (version, _outbox_shard(game_id), game_id),
            f"remove the webhook mark of game {game_id}",
        )

    def list_outbox_game_ids(self, limit: int) -> list[str]:
        game_ids: list[str] = []
        for shard in range(OUTBOX_SHARDS):
            if len(game_ids) >= limit:
                break
            rows = self._execute(
                "select_outbox_games",
                (shard, limit - len(game_ids)),
                "list games with webhook events",
            )
            game_ids.extend(row.game_id for row in rows)
        return game_ids

    def get_outbox_cursor(self, game_id: str) -> int:
        row = self._execute(
            "select_outbox_cursor",
            (game_id,),
            f"read the webhook cursor of game {game_id}",
        ).one()
        return 0 if row is None else row.version

    def set_outbox_cursor(self, game_id: str, version: int) -> None:
        self._execute(
            "insert_outbox_cursor",
            (game_id, version, version),
            f"store the webhook cursor of game {game_id}",
        )


def _outbox_shard(game_id: str) -> int:
    return zlib.crc32(game_id.encode("utf-8")) % OUTBOX_SHARDS


def _buckets(
    first: int, last: int, size: int, descending: bool
) -> Iterator[tuple[int, int, int]]:
    """Yield (bucket, low, high) for each bucket that numbers first..last touch.

    `low` and `high` clip the range to the bucket. Buckets come in ascending
    order, or descending with `descending`.
    """
    if first > last:
        return
    buckets = range(first // size, last // size + 1)
    for bucket in reversed(buckets) if descending else buckets:
        low = max(first, bucket * size)
        high = min(last, bucket * size + size - 1)
        yield bucket, low, high


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_us(moment: datetime) -> int:
    """Return an aware datetime as whole microseconds since the Unix epoch."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _from_epoch_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _turn(game_id: str, number: int, doc: str) -> TurnRecord:
    return TurnRecord.from_dict(game_id, {**json.loads(doc), "number": number})


def _chat_row(line: ChatLine) -> tuple:
    return (
        line.game_id,
        line.seq // CHAT_BUCKET_SIZE,
        line.seq,
        line.player_id,
        line.text,
        line.sent_at.isoformat(),
        line.client_id,
    )


def _chat_line(game_id: str, row) -> ChatLine:
    return ChatLine(
        game_id=game_id,
        seq=row.seq,
        player_id=row.player_id,
        text=row.text,
        sent_at=datetime.fromisoformat(row.sent_at),
        client_id=row.client_id,
    )
