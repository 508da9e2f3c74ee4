"""Turn deadlines, on real storage and locks, with the server clock moved forward.

The worker task `resolve_due_games` and the write requests close an overdue
turn through the one resolution path. These tests check what a timed-out
player's move and status become, that a deadline fires once however many
workers and moves race it, and that a late move finds its turn closed.

The Cassandra keyspace is shared by the module, so the due index may hold
entries of other tests; assertions read each test's own games.
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings

from chat.services import chat_post
from games import deadlines
from games.deadlines import close_overdue_turn, deadline_of, resolve_due_games
from games.presenters import game_view
from games.services import (
    game_create,
    game_get,
    game_join,
    game_resign,
    turn_list,
    turn_submit_move,
)
from gameserver.errors import Conflict
from storage import StorageUnavailable, get_storage
from tests.inprocess import as_client_two

TURN_SECONDS = 60
# Far enough past a deadline of TURN_SECONDS, and short of the next one.
PAST_DEADLINE = TURN_SECONDS + 1
RACES = 8


def start_game(ruleset: str = "rps", seats: int = 2, **options):
    """Create and fill a game, and return it with its player ids in seat order."""
    players = [str(uuid.uuid4()) for _ in range(seats)]
    options.setdefault("turn_seconds", TURN_SECONDS)
    game = game_create(
        player_id=players[0],
        player_name="p0",
        ruleset=ruleset,
        seats=seats,
        options=options,
    )
    for seat, player_id in enumerate(players[1:], start=1):
        game = game_join(player_id=player_id, player_name=f"p{seat}", game_id=game.id)
    assert game.status == "active"
    return game, players


def turn_record(game_id: str, number: int):
    turns, _ = turn_list(game_id=game_id, after=number - 1, limit=1)
    assert [turn.number for turn in turns] == [number]
    return turns[0]


def seat(game, player_id: str) -> dict:
    return game.seat_of(player_id)


# -- what a timeout does ----------------------------------------------------------


def test_turn_opens_with_deadline(backends):
    before = backends.clock()
    game, (first, _) = start_game()

    deadline = deadline_of(game)
    view = game_view(game, first)

    assert deadline is not None
    assert 0 <= (deadline - before).total_seconds() - TURN_SECONDS < 5
    assert view["deadline"] == deadline.isoformat().replace("+00:00", "Z")
    assert [p["missed"] for p in view["players"]] == [0, 0]


def test_waiting_game_has_no_deadline(backends):
    game = game_create(
        player_id=str(uuid.uuid4()),
        player_name="p0",
        ruleset="rps",
        seats=2,
        options={},
    )

    assert deadline_of(game) is None
    assert game_view(game, game.players[0]["id"])["deadline"] is None


def test_skip_timeout_gives_null_move(backends):
    game, (first, second) = start_game(on_timeout="skip")
    turn_submit_move(player_id=first, game_id=game.id, turn=1, move={"throw": "rock"})
    old_deadline = deadline_of(game_get(game_id=game.id))

    backends.clock.advance(PAST_DEADLINE)
    resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.status == "active"
    assert game.turn == 2
    turn = turn_record(game.id, 1)
    assert turn.cause == "deadline"
    assert turn.moves == {first: {"throw": "rock"}, second: None}
    assert turn.timed_out == [second]
    assert turn.events[0]["winner"] == first
    assert seat(game, second)["status"] == "active"
    assert seat(game, second)["missed"] == 1
    assert seat(game, first)["missed"] == 0
    assert deadline_of(game) > old_deadline


def test_forfeit_timeout_puts_player_out(backends):
    game, (first, second, third) = start_game(
        "lightcycles", 3, on_timeout="forfeit", width=16, height=16
    )
    turn_submit_move(player_id=first, game_id=game.id, turn=1, move={"dir": "E"})
    turn_submit_move(player_id=second, game_id=game.id, turn=1, move={"dir": "W"})

    backends.clock.advance(PAST_DEADLINE)
    resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.status == "active"
    assert game.turn == 2
    assert seat(game, third)["status"] == "out"
    assert seat(game, third)["missed"] == 1
    assert game.state["cycles"][third]["alive"] is False
    turn = turn_record(game.id, 1)
    assert turn.cause == "deadline"
    assert turn.timed_out == [third]
    assert third not in turn.moves


def test_forfeit_of_last_rival_finishes_game(backends):
    game, (first, second) = start_game(on_timeout="forfeit")
    turn_submit_move(player_id=first, game_id=game.id, turn=1, move={"throw": "rock"})

    backends.clock.advance(PAST_DEADLINE)
    resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.status == "finished"
    assert game.outcome == {first: "won", second: "lost"}
    assert seat(game, second)["status"] == "out"
    assert deadline_of(game) is None
    assert game_view(game, first)["deadline"] is None
    assert turn_record(game.id, 1).timed_out == [second]


def test_max_missed_puts_player_out_and_finishes(backends):
    # Five rounds need three wins, so only the missed turns can end the game
    # after two turns.
    game, (first, second) = start_game(on_timeout="skip", max_missed=2, rounds=5)

    for turn in (1, 2):
        turn_submit_move(
            player_id=first, game_id=game.id, turn=turn, move={"throw": "paper"}
        )
        backends.clock.advance(PAST_DEADLINE)
        resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.status == "finished"
    assert game.resolved_turns == 2
    assert game.outcome == {first: "won", second: "lost"}
    assert seat(game, second)["status"] == "out"
    assert seat(game, second)["missed"] == 2
    assert turn_record(game.id, 1).moves[second] is None
    assert turn_record(game.id, 2).timed_out == [second]
    assert second not in turn_record(game.id, 2).moves


def test_move_resets_missed_count(backends):
    game, (first, second) = start_game("lockstep", 2, max_missed=2)

    # Turn 1: the second player misses. Turn 2: both move. Turn 3: the
    # second player misses again, which is one miss in a row, not two.
    turn_submit_move(player_id=first, game_id=game.id, turn=1, move=1)
    backends.clock.advance(PAST_DEADLINE)
    resolve_due_games()
    assert seat(game_get(game_id=game.id), second)["missed"] == 1

    turn_submit_move(player_id=first, game_id=game.id, turn=2, move=2)
    turn_submit_move(player_id=second, game_id=game.id, turn=2, move=2)
    assert seat(game_get(game_id=game.id), second)["missed"] == 0

    turn_submit_move(player_id=first, game_id=game.id, turn=3, move=3)
    backends.clock.advance(PAST_DEADLINE)
    resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.status == "active"
    assert game.turn == 4
    assert seat(game, second)["status"] == "active"
    assert seat(game, second)["missed"] == 1


def test_all_players_miss_under_skip(backends):
    game, (first, second) = start_game("lockstep", 2)

    backends.clock.advance(PAST_DEADLINE)
    resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.turn == 2
    turn = turn_record(game.id, 1)
    assert turn.moves == {first: None, second: None}
    assert turn.timed_out == [first, second]


def test_worker_leaves_game_before_deadline(backends):
    game, _ = start_game()
    version = game.version

    backends.clock.advance(TURN_SECONDS - 5)
    resolve_due_games()

    game = game_get(game_id=game.id)
    assert game.version == version
    assert game.turn == 1


def test_stale_due_entry_is_dropped(backends):
    # Both players move before the deadline, so the entry of turn 1's
    # deadline is stale when it comes due.
    game, (first, second) = start_game()
    first_deadline = deadline_of(game)
    turn_submit_move(player_id=first, game_id=game.id, turn=1, move={"throw": "rock"})
    turn_submit_move(player_id=second, game_id=game.id, turn=1, move={"throw": "paper"})
    version = game_get(game_id=game.id).version

    backends.clock.advance(TURN_SECONDS + 0.5)
    resolve_due_games(now=first_deadline)

    game = game_get(game_id=game.id)
    assert game.version == version
    assert game.turn == 2
    due = get_storage().list_due(first_deadline, 1000)
    assert (game.id, first_deadline) not in [(e.game_id, e.due_at) for e in due]


def test_failed_close_is_retried_later(backends, monkeypatch):
    game, _ = start_game()
    backends.clock.advance(PAST_DEADLINE)

    def unavailable(game_id, now):
        raise StorageUnavailable("storage is down for this test")

    monkeypatch.setattr(deadlines, "close_overdue_turn", unavailable)
    resolve_due_games()
    monkeypatch.undo()

    assert game_get(game_id=game.id).turn == 1
    # The entry moved RETRY_SECONDS ahead: not due yet, then due.
    resolve_due_games()
    assert game_get(game_id=game.id).turn == 1
    backends.clock.advance(deadlines.RETRY_SECONDS)
    resolve_due_games()
    assert game_get(game_id=game.id).turn == 2


# -- a write request on an overdue game ------------------------------------------


def test_move_on_overdue_game_resolves_deadline_first(backends):
    game, (first, second) = start_game()
    turn_submit_move(player_id=first, game_id=game.id, turn=1, move={"throw": "rock"})

    backends.clock.advance(PAST_DEADLINE)
    with pytest.raises(Conflict) as raised:
        turn_submit_move(
            player_id=second, game_id=game.id, turn=1, move={"throw": "paper"}
        )

    assert raised.value.code == "turn_closed"
    assert raised.value.details["turn"] == 2
    game = game_get(game_id=game.id)
    assert game.turn == 2
    turn = turn_record(game.id, 1)
    assert turn.cause == "deadline"
    assert turn.moves == {first: {"throw": "rock"}, second: None}

    # The next turn takes moves as usual.
    result = turn_submit_move(
        player_id=second, game_id=game.id, turn=2, move={"throw": "paper"}
    )
    assert result.resolved is False


def test_chat_post_on_overdue_game_resolves_deadline_first(backends):
    game, (first, _) = start_game()

    backends.clock.advance(PAST_DEADLINE)
    line, created = chat_post(
        player_id=first, game_id=game.id, text="still there?", client_id=None
    )

    assert created is True
    game = game_get(game_id=game.id)
    assert game.turn == 2
    assert game.chat_seq == line.seq == 1
    assert turn_record(game.id, 1).cause == "deadline"


def test_resign_on_overdue_game_resolves_deadline_first(backends):
    game, (first, _, _) = start_game("lightcycles", 3)

    backends.clock.advance(PAST_DEADLINE)
    game = game_resign(player_id=first, game_id=game.id)

    assert turn_record(game.id, 1).cause == "deadline"
    assert seat(game, first)["status"] == "resigned"
    assert game.turn == 2


# -- races ---------------------------------------------------------------


def test_deadline_races_last_move(backends):
    """A last move and the worker race for the same turn; it resolves once.

    The move arrives a second before the deadline, by the server clock, and
    the worker runs as if a second after it, as on a worker host whose clock
    runs ahead. Either may get the game's lock first.
    """
    games = [start_game() for _ in range(RACES)]
    for game, (first, _) in games:
        turn_submit_move(
            player_id=first, game_id=game.id, turn=1, move={"throw": "rock"}
        )
    versions = {game.id: game_get(game_id=game.id).version for game, _ in games}
    backends.clock.advance(TURN_SECONDS - 1)
    worker_now = backends.clock() + timedelta(seconds=2)

    outcomes: dict[str, object] = {}
    closed_by_worker: dict[str, bool] = {}
    barrier = threading.Barrier(2 * RACES)

    def last_move(game_id: str, player_id: str) -> None:
        barrier.wait(30)
        try:
            outcomes[game_id] = turn_submit_move(
                player_id=player_id, game_id=game_id, turn=1, move={"throw": "paper"}
            )
        except Conflict as exc:
            outcomes[game_id] = exc

    def worker(game_id: str) -> None:
        barrier.wait(30)
        with as_client_two():
            closed_by_worker[game_id] = close_overdue_turn(game_id, worker_now)

    threads = []
    for game, (_, second) in games:
        threads.append(threading.Thread(target=last_move, args=(game.id, second)))
        threads.append(threading.Thread(target=worker, args=(game.id,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    for game, (first, second) in games:
        stored = game_get(game_id=game.id)
        turn = turn_record(game.id, 1)
        outcome = outcomes[game.id]
        assert stored.resolved_turns == 1
        assert stored.turn == 2
        assert closed_by_worker[game.id] is isinstance(outcome, Conflict)
        if isinstance(outcome, Conflict):
            # The deadline won, and the move found its turn closed.
            assert outcome.code == "turn_closed"
            assert turn.cause == "deadline"
            assert turn.moves == {first: {"throw": "rock"}, second: None}
        else:
            # The move won, and the worker found a later deadline.
            assert outcome.resolved is True
            assert turn.cause == "all_in"
            assert turn.moves == {first: {"throw": "rock"}, second: {"throw": "paper"}}
        # One commit resolved the turn.
        assert stored.version == versions[game.id] + 1


def test_late_move_and_worker_close_turn_once(backends):
    """A move after the deadline and the worker both close the turn; it closes once."""
    games = [start_game() for _ in range(RACES)]
    versions = {game.id: game.version for game, _ in games}
    backends.clock.advance(PAST_DEADLINE)
    barrier = threading.Barrier(RACES + 1)
    conflicts = {}

    def late_move(game_id: str, player_id: str) -> None:
        barrier.wait(30)
        try:
            turn_submit_move(
                player_id=player_id, game_id=game_id, turn=1, move={"throw": "rock"}
            )
        except Conflict as exc:
            conflicts[game_id] = exc.code

    def worker() -> None:
        barrier.wait(30)
        with as_client_two():
            resolve_due_games()

    threads = [
        threading.Thread(target=late_move, args=(game.id, first))
        for game, (first, _) in games
    ]
    threads.append(threading.Thread(target=worker))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)

    for game, _ in games:
        stored = game_get(game_id=game.id)
        assert conflicts[game.id] == "turn_closed"
        assert stored.resolved_turns == 1
        assert stored.version == versions[game.id] + 1
        assert turn_record(game.id, 1).cause == "deadline"


def test_two_workers_race_one_deadline(backends):
    games = [start_game() for _ in range(RACES)]
    versions = {game.id: game.version for game, _ in games}
    backends.clock.advance(PAST_DEADLINE)
    barrier = threading.Barrier(2)
    errors = []

    def run_worker(client_two: bool) -> None:
        try:
            barrier.wait(30)
            if client_two:
                with as_client_two():
                    resolve_due_games()
            else:
                resolve_due_games()
        except Exception as exc:  # noqa: BLE001 - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run_worker, args=(two,)) for two in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    for game, _ in games:
        stored = game_get(game_id=game.id)
        assert stored.turn == 2
        assert stored.resolved_turns == 1
        # One commit: the deadline fired once.
        assert stored.version == versions[game.id] + 1
        assert turn_record(game.id, 1).cause == "deadline"


# -- the worker command ------------------------------------------------------------


def test_run_worker_once_resolves_due_turn(backends):
    game, _ = start_game()

    backends.clock.advance(PAST_DEADLINE)
    with override_settings(LOCKSTEP_WORKER_TASKS=["games.deadlines.resolve_due_games"]):
        call_command("run_worker", "--once")

    assert game_get(game_id=game.id).turn == 2


def test_deadline_text_is_rfc3339(backends):
    game, (first, _) = start_game()

    text = game_view(game, first)["deadline"]

    assert text.endswith("Z")
    assert datetime.fromisoformat(text.replace("Z", "+00:00")) == deadline_of(game)
