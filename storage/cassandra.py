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
import threading
from collections.abc import Iterator
from datetime import datetime
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
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from . import schema
from .base import Storage, StorageError, StorageUnavailable, WriteConflict
from .records import ChatLine, GameRecord, MoveRecord, PlayerRecord, TurnRecord

logger = logging.getLogger(__name__)

# Rows per partition of the turns and chat tables. A partition is
# (game_id, number // TURN_BUCKET_SIZE) or (game_id, seq // CHAT_BUCKET_SIZE),
# so no partition grows without bound. Changing either needs a data migration.
TURN_BUCKET_SIZE = 1000
CHAT_BUCKET_SIZE = 10000

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
    "ping": "SELECT release_version FROM system.local",
}


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

    def __repr__(self) -> str:
        return f"CassandraStorage({self._address()}, keyspace={self.keyspace!r})"

    def _address(self) -> str:
        return ",".join(f"{host}:{self.port}" for host in self.hosts)

    # -- connection ------------------------------------------------------

    def _new_cluster(self) -> Cluster:
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(
                DCAwareRoundRobinPolicy(local_dc=self.local_dc or "")
            ),
            retry_policy=RetryPolicy(),
            consistency_level=self.consistency,
            serial_consistency_level=self.serial_consistency,
            request_timeout=self.request_timeout,
        )
        return Cluster(
            contact_points=self.hosts,
            port=self.port,
            # Cassandra 5.0 speaks native protocol v5. Without a version, the
            # driver first tries DataStax versions 66 and 65 and logs a warning
            # each time it steps down.
            protocol_version=ProtocolVersion.V5,
            execution_profiles={EXEC_PROFILE_DEFAULT: profile},
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
        """Execute a bound statement or batch, letting driver errors propagate."""
        session, _ = self._connect()
        return session.execute(statement)

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
        doc = _dumps(game.document())
        statement = self._bind_conditional(
            "insert_game", (game.id, game.status, game.version, doc)
        )
        try:
            result = self._run(statement)
        except UNAVAILABLE_ERRORS + (ErrorMessage,) as exc:
            self._settle_unknown_write(game, doc, None, exc)
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

    def update_game(self, game: GameRecord, expected_version: int) -> None:
        doc = _dumps(game.document())
        statement = self._bind_conditional(
            "update_game", (game.status, game.version, doc, game.id, expected_version)
        )
        try:
            result = self._run(statement)
        except UNAVAILABLE_ERRORS + (ErrorMessage,) as exc:
            self._settle_unknown_write(game, doc, expected_version, exc)
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
        doc: str,
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
        longer be accepted. So what the read returns is final:

        - the row contains this write's version and document: it applied,
          so return as if the write had succeeded;
        - the row is missing or still at `expected_version`: nothing
          applied, so raise StorageUnavailable, and the caller may retry;
        - another writer's version up to this write's: raise WriteConflict;
        - a later version: this write may have applied before another
          writer moved on, so raise StorageUnavailable.

        Replaying the write instead would need the lock that the caller may
        have lost. If the read fails too, raise StorageUnavailable, because
        the write may or may not have applied.

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
        row = self._read_game_serial(
            game.id, f"learn whether the {action} to version {game.version} applied"
        )
        if self._is_own_write(row, game, doc):
            logger.warning(
                "Conditional %s of game %s to version %s applied",
                action,
                game.id,
                game.version,
            )
            return
        if row is None and expected_version is not None:
            raise WriteConflict(f"Game {game.id} does not exist.")
        if row is None or row.version == expected_version:
            raise self._unavailable(
                f"{action} game {game.id} to version {game.version} "
                f"in time, and the write did not apply ({exc!r})",
                exc,
            )
        if row.version <= game.version:
            raise WriteConflict(
                f"Game {game.id} was committed by another writer at "
                f"version {row.version}."
            )
        raise self._unavailable(
            f"{action} game {game.id} to version {game.version} in time, and the "
            f"game has since moved on to version {row.version}, so whether the "
            f"write applied is unknown ({exc!r})",
            exc,
        )

    def _read_game_serial(self, game_id: str, purpose: str):
        return self._execute(
            "select_game",
            (game_id,),
            f"read game {game_id} at serial consistency to {purpose}",
            serial=True,
        ).one()

    @staticmethod
    def _is_own_write(row, game: GameRecord, doc: str) -> bool:
        # Documents carry updated_at to the microsecond, so two writers
        # produce the same one only by committing the same change.
        return (
            row is not None
            and row.version == game.version
            and row.status == game.status
            and row.doc == doc
        )

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


def _turn(game_id: str, number: int, doc: str) -> TurnRecord:
    return TurnRecord.from_dict(game_id, {**json.loads(doc), "number": number})


def _chat_line(game_id: str, row) -> ChatLine:
    return ChatLine(
        game_id=game_id,
        seq=row.seq,
        player_id=row.player_id,
        text=row.text,
        sent_at=datetime.fromisoformat(row.sent_at),
        client_id=row.client_id,
    )
