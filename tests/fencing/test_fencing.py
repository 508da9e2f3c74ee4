"""A client that lost the game's lock must not change the game.

Client one takes the game's lock and reads the game at version v. Then it
loses the lock without releasing it: its flock is dropped behind its back,
or its ZooKeeper session expires. Client two takes the lock, reads v and
commits v + 1. When client one goes on from v, its commit must be rejected
and nothing of its change may be visible, while client two's change stays
whole.

The first test plays this on the storage and lock interfaces. The others
play it through the real service functions, with client one stopped right
after it read the game inside its lock, so that every row it writes comes
after client two's commit.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from chat.services import chat_list, chat_post
from games.gamestore import lock_name
from games.services import (
    game_create,
    game_get,
    game_join,
    pending_move,
    turn_list,
    turn_submit_move,
)
from gameserver.errors import Conflict
from locking import reset_lock_backend
from locking.base import LockBackend, LockLost
from storage import reset_storage
from storage.base import WriteConflict
from storage.records import GameRecord

# Seconds to wait for a free lock, and for a paused client to reach its pause.
LOCK_WAIT = 10
PAUSE_WAIT = 30


def new_game_record() -> GameRecord:
    now = datetime.now(UTC)
    players = [str(uuid.uuid4()), str(uuid.uuid4())]
    return GameRecord(
        id=str(uuid.uuid4()),
        ruleset="lockstep",
        seats=2,
        options={"max_turns": 0},
        status="active",
        turn=1,
        players=[
            {
                "id": pid,
                "name": f"p{seat}",
                "seat": seat,
                "status": "active",
                "missed": 0,
            }
            for seat, pid in enumerate(players)
        ],
        pending={},
        state={"max_turns": 0, "players": players},
        outcome=None,
        resolved_turns=0,
        chat_seq=0,
        version=1,
        created_at=now,
        updated_at=now,
    )


def test_stale_commit_rejected(backend_pair):
    one, two = backend_pair.one, backend_pair.two
    game = new_game_record()
    one.storage.insert_game(game)
    version = game.version
    name = lock_name(game.id)

    lock_one = one.locks.lock(name)
    assert lock_one.acquire(LOCK_WAIT)
    try:
        read_one = one.storage.get_game(game.id)
        assert read_one.version == version
        # The lock excludes client two until client one loses it.
        assert two.locks.lock(name).acquire(0.2) is False
        backend_pair.lose(lock_one)

        lock_two = two.locks.lock(name)
        assert lock_two.acquire(LOCK_WAIT)
        try:
            read_two = two.storage.get_game(game.id)
            assert read_two.version == version
            read_two.chat_seq = 1
            read_two.extra = {"writer": "two"}
            read_two.version = version + 1
            lock_two.check_held()
            two.storage.update_game(read_two, version)
        finally:
            lock_two.release()

        read_one.chat_seq = 1
        read_one.extra = {"writer": "one"}
        read_one.version = version + 1
        if backend_pair.detects_loss:
            with pytest.raises(LockLost):
                lock_one.check_held()
        else:
            # No signal reaches a process whose flock was dropped.
            lock_one.check_held()
        with pytest.raises(WriteConflict):
            one.storage.update_game(read_one, version)
    finally:
        lock_one.release()

    for storage in (one.storage, two.storage):
        stored = storage.get_game(game.id)
        assert stored.version == version + 1
        assert stored.chat_seq == 1
        assert stored.extra == {"writer": "two"}


# -- through the services ---------------------------------------------------


def provided_backend(instance):
    """Return `instance`, so that settings can hand a ready backend to the services."""
    return instance


class PausingStorage:
    """Storage proxy that stops one thread right after its first read of a game.

    Services read the game only once they hold its lock, so the thread
    stops inside the critical section, before it writes anything.
    """

    def __init__(self, inner):
        self._inner = inner
        self.pause_thread: threading.Thread | None = None
        self.paused = threading.Event()
        self.resume = threading.Event()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def get_game(self, game_id):
        game = self._inner.get_game(game_id)
        if threading.current_thread() is self.pause_thread and not self.paused.is_set():
            self.paused.set()
            assert self.resume.wait(PAUSE_WAIT), "paused client was never resumed"
        return game

    def close(self) -> None:
        # The backend_pair fixture closes the real backend.
        pass


class ClientLocks(LockBackend):
    """Lock backend for the services that gives client one's thread its own backend.

    Every other thread, client two's included, gets locks from client
    two's backend. The locks handed to client one are kept in `one_locks`.
    """

    def __init__(self, one: LockBackend, two: LockBackend):
        super().__init__(two.default_timeout)
        self.one = one
        self.two = two
        self.one_thread: threading.Thread | None = None
        self.one_locks = []

    def lock(self, name):
        if threading.current_thread() is self.one_thread:
            lock = self.one.lock(name)
            self.one_locks.append(lock)
            return lock
        return self.two.lock(name)

    def ping(self) -> None:
        self.one.ping()
        self.two.ping()


@dataclass
class Race:
    """The backends the services use during one test, and the game they play."""

    pair: object
    storage: PausingStorage
    locks: ClientLocks
    game_id: str = ""
    player_ids: list[str] = field(default_factory=list)

    def run(self, action_one, action_two):
        """Run `action_one` as client one and `action_two` as client two.

        Client one stops right after reading the game inside its lock and
        loses the lock. Client two then runs to completion, and client one
        goes on. Return client one's error (None if it succeeded) and
        client two's result.
        """
        outcome = {}

        def run_one():
            try:
                outcome["result"] = action_one()
            except Exception as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run_one, name="client-one")
        self.locks.one_thread = thread
        self.storage.pause_thread = thread
        thread.start()
        try:
            assert self.storage.paused.wait(PAUSE_WAIT), (
                "client one never read the game"
            )
            [lock_one] = self.locks.one_locks
            self.pair.lose(lock_one)
            result_two = action_two()
        finally:
            self.storage.resume.set()
            thread.join(PAUSE_WAIT)
        assert not thread.is_alive(), "client one did not finish"
        return outcome.get("error"), result_two


@pytest.fixture
def race(backend_pair):
    """Point the services at the pair's backends and start a two-player game."""
    storage = PausingStorage(backend_pair.two.storage)
    locks = ClientLocks(backend_pair.one.locks, backend_pair.two.locks)
    backend_settings = override_settings(
        LOCKSTEP_STORAGE_BACKEND=f"{__name__}.provided_backend",
        LOCKSTEP_STORAGE_OPTIONS={"instance": storage},
        LOCKSTEP_LOCK_BACKEND=f"{__name__}.provided_backend",
        LOCKSTEP_LOCK_OPTIONS={"instance": locks},
    )
    with backend_settings:
        reset_storage()
        reset_lock_backend()
        try:
            race = Race(pair=backend_pair, storage=storage, locks=locks)
            race.player_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
            game = game_create(
                player_id=race.player_ids[0],
                player_name="Ada",
                ruleset="lockstep",
                seats=2,
                options={},
            )
            game_join(
                player_id=race.player_ids[1], player_name="Grace", game_id=game.id
            )
            race.game_id = game.id
            yield race
        finally:
            reset_storage()
            reset_lock_backend()


def test_stale_chat_post_leaves_no_line(race, backend_pair):
    game_id = race.game_id
    first, second = race.player_ids
    version = game_get(game_id=game_id).version

    error_one, (line_two, created_two) = race.run(
        lambda: chat_post(
            player_id=first,
            game_id=game_id,
            text="from one, abandoned",
            client_id="c-1",
        ),
        lambda: chat_post(
            player_id=second, game_id=game_id, text="from two", client_id="c-2"
        ),
    )

    assert isinstance(error_one, backend_pair.stale_commit_error), repr(error_one)
    assert created_two is True
    assert line_two.seq == 1
    game = game_get(game_id=game_id)
    assert game.version == version + 1
    assert game.chat_seq == 1
    for cursor in ({"after": 0, "before": None}, {"after": None, "before": None}):
        lines, _, chat_seq = chat_list(
            player_id=first, game_id=game_id, limit=50, **cursor
        )
        assert chat_seq == 1
        assert [(line.seq, line.player_id, line.text) for line in lines] == [
            (1, second, "from two")
        ]

    # Client one's post never happened, so sending it again appends it.
    line, created = chat_post(
        player_id=first, game_id=game_id, text="from one, abandoned", client_id="c-1"
    )
    assert created is True
    assert line.seq == 2
    lines, _, _ = chat_list(
        player_id=second, game_id=game_id, after=0, before=None, limit=50
    )
    assert [(line.seq, line.player_id, line.text) for line in lines] == [
        (1, second, "from two"),
        (2, first, "from one, abandoned"),
    ]


def test_stale_move_keeps_committed_move(race, backend_pair):
    # The same player sends two different moves from two devices at once.
    game_id = race.game_id
    first, second = race.player_ids
    version = game_get(game_id=game_id).version

    error_one, result_two = race.run(
        lambda: turn_submit_move(
            player_id=first, game_id=game_id, turn=1, move={"device": "one"}
        ),
        lambda: turn_submit_move(
            player_id=first, game_id=game_id, turn=1, move={"device": "two"}
        ),
    )

    assert isinstance(error_one, backend_pair.stale_commit_error), repr(error_one)
    assert result_two.resolved is False
    game = game_get(game_id=game_id)
    assert game.version == version + 1
    assert pending_move(game, first) == {"device": "two"}

    result = turn_submit_move(
        player_id=second, game_id=game_id, turn=1, move={"rival": True}
    )
    assert result.resolved is True
    turns, _ = turn_list(game_id=game_id, after=0, limit=20)
    assert [turn.number for turn in turns] == [1]
    assert turns[0].moves == {first: {"device": "two"}, second: {"rival": True}}


def test_stale_resolution_keeps_committed_turn(race, backend_pair):
    # The last mover sends two different moves from two devices at once, so
    # both requests resolve turn 1, each with its own move.
    game_id = race.game_id
    first, second = race.player_ids
    turn_submit_move(player_id=first, game_id=game_id, turn=1, move={"first": 1})
    version = game_get(game_id=game_id).version

    error_one, result_two = race.run(
        lambda: turn_submit_move(
            player_id=second, game_id=game_id, turn=1, move={"device": "one"}
        ),
        lambda: turn_submit_move(
            player_id=second, game_id=game_id, turn=1, move={"device": "two"}
        ),
    )

    assert isinstance(error_one, backend_pair.stale_commit_error), repr(error_one)
    assert result_two.resolved is True
    game = game_get(game_id=game_id)
    assert game.version == version + 1
    assert game.resolved_turns == 1
    assert game.turn == 2
    turns, next_after = turn_list(game_id=game_id, after=0, limit=20)
    assert next_after == 1
    assert [turn.number for turn in turns] == [1]
    assert turns[0].moves == {first: {"first": 1}, second: {"device": "two"}}

    # Only client two's move counts as the stored one for a retry.
    retry = turn_submit_move(
        player_id=second, game_id=game_id, turn=1, move={"device": "two"}
    )
    assert retry.resolved is True
    assert retry.game.version == version + 1
    with pytest.raises(Conflict) as raised:
        turn_submit_move(
            player_id=second, game_id=game_id, turn=1, move={"device": "one"}
        )
    assert raised.value.code == "turn_closed"
