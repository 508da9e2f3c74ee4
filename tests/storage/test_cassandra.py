"""Behaviour of the Cassandra backend beyond the shared contract.

Covers failing fast when Cassandra does not respond, the number of
partitions a page reads, and how a conditional write with an unknown
outcome (a timeout in the middle of a lightweight transaction) is settled.
The faults are injected between the backend and the driver, because a real
Paxos timeout cannot be caused on demand.
"""

from __future__ import annotations

import socket
import time

import pytest
from cassandra import ConsistencyLevel, OperationTimedOut, WriteTimeout, WriteType
from cassandra.policies import RetryPolicy
from cassandra.protocol import ErrorMessage

from storage.base import StorageError, StorageUnavailable, WriteConflict
from storage.cassandra import CAS_WRITE_UNKNOWN, KEPT_COMMIT_IDS, CassandraStorage

from .backends import CASSANDRA_HOST, CASSANDRA_PORT, unique_keyspace
from .factories import make_game, make_line, make_turn, new_id, next_version

pytestmark = pytest.mark.usefixtures("cassandra_selected")


def cas_timeout() -> WriteTimeout:
    return WriteTimeout(
        "Operation timed out - received only 0 responses.",
        consistency=ConsistencyLevel.LOCAL_SERIAL,
        required_responses=1,
        received_responses=0,
        write_type=WriteType.CAS,
    )


def is_conditional(statement) -> bool:
    prepared = getattr(statement, "prepared_statement", None)
    return prepared is not None and " IF " in prepared.query_string


class FaultyDriver:
    """Replace `storage._run` to fail the first conditional write.

    With `apply_first` the write reaches Cassandra before the failure is
    raised, as when a Paxos round completes but its response is lost.
    `before_failure` runs just before the failure, for a competing writer.
    `fail_serial_reads` also fails every read at serial consistency.
    """

    def __init__(
        self,
        storage,
        monkeypatch,
        failure,
        apply_first,
        before_failure=None,
        fail_serial_reads=False,
    ):
        self.real_run = storage._run
        self.failure = failure
        self.apply_first = apply_first
        self.before_failure = before_failure
        self.fail_serial_reads = fail_serial_reads
        self.injected = False
        self.serial_reads = 0
        monkeypatch.setattr(storage, "_run", self.run)

    def run(self, statement):
        if (
            getattr(statement, "consistency_level", None)
            == ConsistencyLevel.LOCAL_SERIAL
        ):
            self.serial_reads += 1
            if self.fail_serial_reads:
                raise OperationTimedOut("injected timeout of the serial read")
        if is_conditional(statement) and not self.injected:
            self.injected = True
            if self.apply_first:
                self.real_run(statement)
            if self.before_failure is not None:
                self.before_failure()
            raise self.failure
        return self.real_run(statement)


# -- failing fast --------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_refused_connection_fails_fast():
    storage = CassandraStorage(
        hosts="127.0.0.1", port=free_port(), connect_timeout=1, request_timeout=1
    )
    started = time.monotonic()

    with pytest.raises(StorageUnavailable, match="127.0.0.1"):
        storage.ping()

    assert time.monotonic() - started < 5
    storage.close()


def test_silent_server_fails_within_timeout():
    # A socket that accepts connections and never responds plays the part
    # of a hung Cassandra node.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        storage = CassandraStorage(
            hosts="127.0.0.1", port=port, connect_timeout=1, request_timeout=1
        )
        started = time.monotonic()

        with pytest.raises(StorageUnavailable):
            storage.get_game(new_id())

        assert time.monotonic() - started < 10
        storage.close()


def test_missing_keyspace_names_the_fix():
    storage = CassandraStorage(
        hosts=CASSANDRA_HOST, port=CASSANDRA_PORT, keyspace=unique_keyspace("missing")
    )

    with pytest.raises(StorageError, match="apply_schema"):
        storage.ping()

    storage.close()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"keyspace": "lockstep-test"}, "Invalid keyspace name"),
        ({"keyspace": "1lockstep"}, "Invalid keyspace name"),
        ({"consistency": "MOST"}, "Invalid consistency 'MOST'"),
        ({"serial_consistency": "QUORUM"}, "use SERIAL or LOCAL_SERIAL"),
        ({"hosts": " , "}, "Invalid hosts"),
    ],
)
def test_invalid_options_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        CassandraStorage(**options)


def test_close_then_reconnect(cassandra_storage):
    game = make_game()
    cassandra_storage.insert_game(game)

    cassandra_storage.close()

    assert cassandra_storage.get_game(game.id) == game


# -- partitions read per page --------------------------------------------


@pytest.fixture
def queries(cassandra_storage, monkeypatch):
    """The names of the prepared statements the backend executes."""
    names: list[str] = []
    real_execute = cassandra_storage._execute

    def execute(name, *args, **kwargs):
        names.append(name)
        return real_execute(name, *args, **kwargs)

    monkeypatch.setattr(cassandra_storage, "_execute", execute)
    return names


def test_chat_page_in_one_bucket_is_one_query(cassandra_storage, queries):
    game_id = new_id()
    for seq in range(9990, 10011):
        cassandra_storage.put_chat_line(make_line(game_id, seq))
    queries.clear()

    lines = cassandra_storage.list_chat(game_id, 10001, 10010, 5, newest_first=False)

    assert [line.seq for line in lines] == [10001, 10002, 10003, 10004, 10005]
    assert queries == ["select_chat_ascending"]


def test_chat_page_stops_at_limit(cassandra_storage, queries):
    game_id = new_id()
    for seq in range(9990, 10011):
        cassandra_storage.put_chat_line(make_line(game_id, seq))
    queries.clear()

    newest = cassandra_storage.list_chat(game_id, 1, 10010, 3, newest_first=True)
    oldest = cassandra_storage.list_chat(game_id, 9995, 45000, 3, newest_first=False)

    assert [line.seq for line in newest] == [10010, 10009, 10008]
    assert [line.seq for line in oldest] == [9995, 9996, 9997]
    assert queries == ["select_chat_descending", "select_chat_ascending"]


def test_chat_page_across_boundary_reads_two_buckets(cassandra_storage, queries):
    game_id = new_id()
    for seq in range(9990, 10011):
        cassandra_storage.put_chat_line(make_line(game_id, seq))
    queries.clear()

    lines = cassandra_storage.list_chat(game_id, 9998, 10010, 4, newest_first=False)

    assert [line.seq for line in lines] == [9998, 9999, 10000, 10001]
    assert queries == ["select_chat_ascending", "select_chat_ascending"]


def test_turn_page_stops_at_limit(cassandra_storage, queries):
    game_id = new_id()
    for number in range(995, 1006):
        cassandra_storage.put_turn(make_turn(game_id, number))
    queries.clear()

    turns = cassandra_storage.list_turns(game_id, 995, 3000, 3)

    assert [turn.number for turn in turns] == [995, 996, 997]
    assert queries == ["select_turns"]


# -- conditional writes with an unknown outcome --------------------------


def inserted_game(storage):
    game = make_game()
    storage.insert_game(game)
    return game


@pytest.mark.parametrize(
    "failure",
    [
        cas_timeout(),
        OperationTimedOut("injected client timeout"),
        ErrorMessage(CAS_WRITE_UNKNOWN, "injected CAS write unknown", {}),
    ],
    ids=["write_timeout_cas", "client_timeout", "cas_write_unknown"],
)
def test_update_timeout_applied_counts_as_success(
    cassandra_storage, monkeypatch, failure
):
    game = inserted_game(cassandra_storage)
    updated = next_version(game, status="active")
    driver = FaultyDriver(cassandra_storage, monkeypatch, failure, apply_first=True)

    cassandra_storage.update_game(updated, expected_version=1)

    assert driver.serial_reads == 1
    assert cassandra_storage.get_game(game.id) == updated


def test_update_timeout_not_applied_is_unavailable(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    driver = FaultyDriver(
        cassandra_storage, monkeypatch, cas_timeout(), apply_first=False
    )

    with pytest.raises(StorageUnavailable, match="did not apply"):
        cassandra_storage.update_game(next_version(game), expected_version=1)

    assert driver.serial_reads == 1
    assert cassandra_storage.get_game(game.id) == game


def test_update_timeout_other_writer_conflicts(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    theirs = next_version(game, status="theirs")

    def commit_theirs():
        cassandra_storage.update_game(theirs, expected_version=1)

    FaultyDriver(
        cassandra_storage,
        monkeypatch,
        cas_timeout(),
        apply_first=False,
        before_failure=commit_theirs,
    )

    with pytest.raises(WriteConflict):
        cassandra_storage.update_game(next_version(game), expected_version=1)

    assert cassandra_storage.get_game(game.id) == theirs


def test_update_timeout_then_game_moved_on(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    ours = next_version(game, status="ours")
    later = []

    def commit_later():
        # Another writer reads the applied write and commits on top of it.
        stored = cassandra_storage.get_game(game.id)
        later.append(next_version(stored, status="later"))
        cassandra_storage.update_game(later[0], expected_version=2)

    FaultyDriver(
        cassandra_storage,
        monkeypatch,
        cas_timeout(),
        apply_first=True,
        before_failure=commit_later,
    )

    cassandra_storage.update_game(ours, expected_version=1)

    assert cassandra_storage.get_game(game.id) == later[0]


def test_update_timeout_not_applied_then_moved_on(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    theirs = next_version(game, status="theirs")

    def commit_two_others():
        cassandra_storage.update_game(theirs, expected_version=1)
        cassandra_storage.update_game(next_version(theirs), expected_version=2)

    FaultyDriver(
        cassandra_storage,
        monkeypatch,
        cas_timeout(),
        apply_first=False,
        before_failure=commit_two_others,
    )
    ours = next_version(game, status="ours")

    with pytest.raises(WriteConflict, match="version 2 by another writer"):
        cassandra_storage.update_game(ours, expected_version=1)

    assert ours.commit_ids == game.commit_ids
    assert cassandra_storage.get_game(game.id).version == 3


def test_update_timeout_then_history_too_long(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    ours = next_version(game, status="ours")

    def commit_many_later():
        stored = cassandra_storage.get_game(game.id)
        for _ in range(KEPT_COMMIT_IDS):
            stored_next = next_version(stored)
            cassandra_storage.update_game(stored_next, expected_version=stored.version)
            stored = stored_next

    FaultyDriver(
        cassandra_storage,
        monkeypatch,
        cas_timeout(),
        apply_first=True,
        before_failure=commit_many_later,
    )

    with pytest.raises(StorageUnavailable, match="unknown") as raised:
        cassandra_storage.update_game(ours, expected_version=1)

    assert raised.value.outcome_unknown is True
    stored = cassandra_storage.get_game(game.id)
    assert stored.version == 2 + KEPT_COMMIT_IDS
    assert len(stored.commit_ids) == KEPT_COMMIT_IDS


def test_update_timeout_and_failed_read_back(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    FaultyDriver(
        cassandra_storage,
        monkeypatch,
        cas_timeout(),
        apply_first=False,
        fail_serial_reads=True,
    )

    with pytest.raises(StorageUnavailable, match="read it back") as raised:
        cassandra_storage.update_game(next_version(game), expected_version=1)

    assert raised.value.outcome_unknown is True


def test_update_other_server_error_propagates(cassandra_storage, monkeypatch):
    game = inserted_game(cassandra_storage)
    failure = ErrorMessage(0x0000, "injected server error", {})
    driver = FaultyDriver(cassandra_storage, monkeypatch, failure, apply_first=False)

    with pytest.raises(ErrorMessage):
        cassandra_storage.update_game(next_version(game), expected_version=1)

    assert driver.serial_reads == 0


def test_insert_timeout_applied_counts_as_success(cassandra_storage, monkeypatch):
    game = make_game()
    FaultyDriver(cassandra_storage, monkeypatch, cas_timeout(), apply_first=True)

    cassandra_storage.insert_game(game)

    assert cassandra_storage.get_game(game.id) == game


def test_insert_timeout_not_applied_is_unavailable(cassandra_storage, monkeypatch):
    game = make_game()
    FaultyDriver(cassandra_storage, monkeypatch, cas_timeout(), apply_first=False)

    with pytest.raises(StorageUnavailable, match="did not apply"):
        cassandra_storage.insert_game(game)

    assert cassandra_storage.get_game(game.id) is None


def test_insert_timeout_other_insert_conflicts(cassandra_storage, monkeypatch):
    game = make_game()
    theirs = make_game(id=game.id, status="theirs")

    FaultyDriver(
        cassandra_storage,
        monkeypatch,
        cas_timeout(),
        apply_first=False,
        before_failure=lambda: cassandra_storage.insert_game(theirs),
    )

    with pytest.raises(WriteConflict):
        cassandra_storage.insert_game(game)

    assert cassandra_storage.get_game(game.id) == theirs


def test_conditional_writes_never_resent(cassandra_storage):
    # The driver's default policy resends a statement to another host after
    # a connection error, which would make a conditional write report its
    # own first attempt as a conflict.
    statement = cassandra_storage._bind_conditional(
        "update_game", ("active", 2, "{}", new_id(), 1)
    )

    decision, _ = statement.retry_policy.on_request_error(
        statement, ConsistencyLevel.LOCAL_QUORUM, ConnectionError(), 0
    )

    assert decision == RetryPolicy.RETHROW
