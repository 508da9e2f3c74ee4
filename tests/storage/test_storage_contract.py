"""Contract of storage.base.Storage, run against every selected backend.

The Cassandra backend shares one keyspace per module, so every test makes
its own uuid ids and never reads what another test wrote.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest

from storage.base import WriteConflict
from storage.records import GameRecord, MoveRecord

from .factories import (
    T0,
    T1,
    make_game,
    make_line,
    make_player,
    make_turn,
    new_id,
    next_version,
)

# -- lifecycle -----------------------------------------------------------


def test_ping(storage):
    storage.ping()


# -- players -------------------------------------------------------------


def test_player_get_by_id(storage):
    player = make_player()
    storage.insert_player(player)

    assert storage.get_player(player.id) == player


def test_player_get_by_token_hash(storage):
    player = make_player()
    storage.insert_player(player)

    assert storage.get_player_by_token_hash(player.token_hash) == player


def test_player_missing(storage):
    assert storage.get_player(new_id()) is None
    assert storage.get_player_by_token_hash(uuid.uuid4().hex) is None


# -- games ---------------------------------------------------------------


def test_game_insert_and_get(storage):
    game = make_game()
    storage.insert_game(game)

    assert storage.get_game(game.id) == game


def test_game_keeps_last_turn_and_chat(storage):
    game = make_game()
    game.last_turn = make_turn(game.id, 4)
    game.last_chat = make_line(game.id, 12)
    storage.insert_game(game)

    stored = storage.get_game(game.id)

    assert stored.last_turn == game.last_turn
    assert stored.last_chat == game.last_chat


def test_game_missing(storage):
    assert storage.get_game(new_id()) is None


def test_game_second_insert_conflicts(storage):
    game = make_game()
    storage.insert_game(game)
    other = make_game(id=game.id, status="active", extra={"other": True})

    with pytest.raises(WriteConflict):
        storage.insert_game(other)
    with pytest.raises(WriteConflict):
        storage.insert_game(game)
    assert storage.get_game(game.id) == game


def test_game_update_bumps_version(storage):
    game = make_game()
    storage.insert_game(game)
    updated = next_version(game, status="active", turn=2, resolved_turns=1)

    storage.update_game(updated, expected_version=1)

    stored = storage.get_game(game.id)
    assert stored == updated
    assert stored.version == 2


def test_game_update_twice_in_a_row(storage):
    game = make_game()
    storage.insert_game(game)
    second = next_version(game, chat_seq=1)
    third = next_version(second, chat_seq=2)

    storage.update_game(second, expected_version=1)
    storage.update_game(third, expected_version=2)

    assert storage.get_game(game.id) == third


def test_game_stale_update_conflicts(storage):
    game = make_game()
    storage.insert_game(game)
    committed = next_version(game, status="active")
    storage.update_game(committed, expected_version=1)
    stale = next_version(game, status="finished", outcome={"winner": "x"})

    with pytest.raises(WriteConflict):
        storage.update_game(stale, expected_version=1)

    assert storage.get_game(game.id) == committed


def test_game_repeated_update_conflicts(storage):
    # The same write sent again finds its own version, not the expected one.
    game = make_game()
    storage.insert_game(game)
    updated = next_version(game)
    storage.update_game(updated, expected_version=1)

    with pytest.raises(WriteConflict):
        storage.update_game(updated, expected_version=1)

    assert storage.get_game(game.id) == updated


def test_game_update_missing_conflicts(storage):
    game = make_game()

    with pytest.raises(WriteConflict):
        storage.update_game(next_version(game), expected_version=1)

    assert storage.get_game(game.id) is None


def test_game_update_race_has_one_winner(storage):
    game = make_game()
    storage.insert_game(game)
    writers = 20
    candidates = [next_version(game, state={"writer": i}) for i in range(writers)]
    start = threading.Barrier(writers)

    def update(candidate: GameRecord) -> str:
        start.wait(timeout=30)
        try:
            storage.update_game(candidate, expected_version=1)
        except WriteConflict:
            return "conflict"
        return "won"

    with ThreadPoolExecutor(max_workers=writers) as pool:
        outcomes = list(pool.map(update, candidates))

    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == writers - 1
    winner = candidates[outcomes.index("won")]
    assert storage.get_game(game.id) == winner


# -- player and open-game indexes ----------------------------------------


def test_player_games_list(storage):
    player_id = new_id()
    game_ids = {new_id(), new_id(), new_id()}
    for game_id in game_ids:
        storage.add_player_game(player_id, game_id)
    storage.add_player_game(player_id, next(iter(game_ids)))

    listed = storage.list_player_game_ids(player_id)

    assert sorted(listed) == sorted(game_ids)
    assert storage.list_player_game_ids(new_id()) == []


def test_open_games_oldest_first(storage):
    ruleset = f"ruleset_{uuid.uuid4().hex}"
    game_ids = [new_id() for _ in range(4)]
    for game_id in game_ids:
        storage.add_open_game(ruleset, game_id)

    assert storage.list_open_game_ids(ruleset, 10) == game_ids
    assert storage.list_open_game_ids(ruleset, 2) == game_ids[:2]
    assert storage.list_open_game_ids(f"ruleset_{uuid.uuid4().hex}", 10) == []


def test_open_games_readd_keeps_place(storage):
    ruleset = f"ruleset_{uuid.uuid4().hex}"
    game_ids = [new_id() for _ in range(3)]
    for game_id in game_ids:
        storage.add_open_game(ruleset, game_id)

    storage.add_open_game(ruleset, game_ids[0])

    assert storage.list_open_game_ids(ruleset, 10) == game_ids


def test_open_games_remove(storage):
    ruleset = f"ruleset_{uuid.uuid4().hex}"
    game_ids = [new_id() for _ in range(3)]
    for game_id in game_ids:
        storage.add_open_game(ruleset, game_id)

    storage.remove_open_game(ruleset, game_ids[1])
    storage.remove_open_game(ruleset, game_ids[1])
    storage.remove_open_game(ruleset, new_id())

    assert storage.list_open_game_ids(ruleset, 10) == [game_ids[0], game_ids[2]]


def test_open_games_readd_after_remove(storage):
    ruleset = f"ruleset_{uuid.uuid4().hex}"
    first, second = new_id(), new_id()
    storage.add_open_game(ruleset, first)
    storage.add_open_game(ruleset, second)

    storage.remove_open_game(ruleset, first)
    storage.add_open_game(ruleset, first)

    assert storage.list_open_game_ids(ruleset, 10) == [second, first]


# -- moves ---------------------------------------------------------------


def test_move_put_and_get(storage):
    game_id = new_id()
    move_a = MoveRecord(game_id, 3, "a", new_id(), {"hand": "rock"}, T0)
    move_b = MoveRecord(game_id, 3, "b", new_id(), ["x", 1, None], T1)
    storage.put_move(move_a)
    storage.put_move(move_b)

    assert storage.get_move(game_id, 3, "a", move_a.write_id) == move_a
    assert storage.get_move(game_id, 3, "b", move_b.write_id) == move_b


def test_move_missing(storage):
    game_id = new_id()
    move = MoveRecord(game_id, 3, "a", new_id(), {"hand": "rock"}, T0)
    storage.put_move(move)

    assert storage.get_move(game_id, 3, "a", new_id()) is None
    assert storage.get_move(game_id, 4, "a", move.write_id) is None
    assert storage.get_move(game_id, 3, "b", move.write_id) is None
    assert storage.get_move(new_id(), 3, "a", move.write_id) is None


def test_move_writes_kept_apart(storage):
    # A new write of a player's move does not replace the earlier row.
    game_id = new_id()
    first = MoveRecord(game_id, 1, "a", new_id(), {"hand": "rock"}, T0)
    second = MoveRecord(game_id, 1, "a", new_id(), {"hand": "paper"}, T1)
    storage.put_move(first)
    storage.put_move(second)

    assert storage.get_move(game_id, 1, "a", first.write_id) == first
    assert storage.get_move(game_id, 1, "a", second.write_id) == second


def test_move_put_same_write_again(storage):
    game_id = new_id()
    move = MoveRecord(game_id, 1, "a", new_id(), {"hand": "rock"}, T0)
    storage.put_move(move)

    storage.put_move(move)

    assert storage.get_move(game_id, 1, "a", move.write_id) == move


# -- resolved turns ------------------------------------------------------


def test_turns_get(storage):
    game_id = new_id()
    turn = make_turn(game_id, 999)
    storage.put_turn(turn)

    assert storage.get_turn(game_id, 999) == turn
    assert storage.get_turn(game_id, 1000) is None


def test_turns_put_again_replaces(storage):
    game_id = new_id()
    storage.put_turn(make_turn(game_id, 5))
    replacement = make_turn(game_id, 5)
    replacement.events = [{"type": "draw"}]

    storage.put_turn(replacement)

    assert storage.get_turn(game_id, 5) == replacement


def test_turns_list_across_bucket_boundary(storage):
    game_id = new_id()
    turns = {number: make_turn(game_id, number) for number in range(995, 1006)}
    for turn in turns.values():
        storage.put_turn(turn)

    def numbers(first, last, limit):
        return [t.number for t in storage.list_turns(game_id, first, last, limit)]

    assert storage.list_turns(game_id, 995, 1005, 100) == list(turns.values())
    assert numbers(998, 1003, 100) == [998, 999, 1000, 1001, 1002, 1003]
    assert numbers(998, 1005, 3) == [998, 999, 1000]
    assert numbers(995, 1005, 2) == [995, 996]
    assert numbers(1000, 1005, 2) == [1000, 1001]
    assert numbers(990, 996, 100) == [995, 996]
    assert numbers(1003, 2500, 100) == [1003, 1004, 1005]
    assert numbers(1000, 999, 100) == []
    assert numbers(995, 1005, 0) == []


# -- chat ----------------------------------------------------------------


def test_chat_get_line(storage):
    game_id = new_id()
    line = make_line(game_id, 10000)
    storage.put_chat_line(line)

    assert storage.get_chat_line(game_id, 10000) == line
    assert storage.get_chat_line(game_id, 9999) is None


def test_chat_line_without_client_id(storage):
    game_id = new_id()
    line = make_line(game_id, 1, client_id=None, text="")
    storage.put_chat_line(line)

    assert storage.get_chat_line(game_id, 1) == line


def test_chat_put_replaces(storage):
    game_id = new_id()
    storage.put_chat_line(make_line(game_id, 7))
    replacement = make_line(game_id, 7, player_id="p2", text="again", client_id=None)

    storage.put_chat_line(replacement)

    assert storage.get_chat_line(game_id, 7) == replacement


def test_chat_list_ascending_across_bucket_boundary(storage):
    game_id = new_id()
    lines = {seq: make_line(game_id, seq) for seq in range(9990, 10011)}
    for line in lines.values():
        storage.put_chat_line(line)

    def seqs(first, last, limit):
        return [
            line.seq
            for line in storage.list_chat(
                game_id, first, last, limit, newest_first=False
            )
        ]

    expected = [lines[seq] for seq in range(9995, 10006)]
    assert storage.list_chat(game_id, 9995, 10005, 100, newest_first=False) == expected
    assert seqs(9998, 10010, 4) == [9998, 9999, 10000, 10001]
    assert seqs(9990, 10010, 3) == [9990, 9991, 9992]
    assert seqs(10008, 25000, 100) == [10008, 10009, 10010]
    assert seqs(0, 9991, 100) == [9990, 9991]
    assert seqs(10001, 10000, 100) == []


def test_chat_list_newest_first_across_bucket_boundary(storage):
    game_id = new_id()
    lines = {seq: make_line(game_id, seq) for seq in range(9990, 10011)}
    for line in lines.values():
        storage.put_chat_line(line)

    def seqs(first, last, limit):
        return [
            line.seq
            for line in storage.list_chat(
                game_id, first, last, limit, newest_first=True
            )
        ]

    expected = [lines[seq] for seq in range(10005, 9994, -1)]
    assert storage.list_chat(game_id, 9995, 10005, 100, newest_first=True) == expected
    assert seqs(9990, 10002, 5) == [10002, 10001, 10000, 9999, 9998]
    assert seqs(9990, 10010, 3) == [10010, 10009, 10008]
    assert seqs(0, 9993, 2) == [9993, 9992]
    assert seqs(9999, 25000, 100) == [10010 - i for i in range(12)]
    assert seqs(10001, 10000, 100) == []


def test_chat_put_lines_in_bulk(storage):
    game_id = new_id()
    other_game_id = new_id()
    lines = [make_line(game_id, seq) for seq in range(9950, 10031)]
    lines.append(make_line(other_game_id, 1, client_id=None))
    storage.put_chat_lines(lines)

    stored = storage.list_chat(game_id, 1, 20000, 100, newest_first=False)
    assert stored == lines[:-1]
    assert storage.get_chat_line(other_game_id, 1) == lines[-1]


def test_chat_put_lines_again_is_harmless(storage):
    game_id = new_id()
    lines = [make_line(game_id, seq) for seq in range(1, 6)]
    storage.put_chat_lines(lines)

    storage.put_chat_lines(lines)

    assert storage.list_chat(game_id, 1, 10, 100, newest_first=False) == lines


def test_chat_client_ids(storage):
    game_id = new_id()
    storage.put_chat_client_id(game_id, "p1", "c1", 4)
    storage.put_chat_client_id(game_id, "p2", "c1", 5)

    assert storage.get_chat_client_id(game_id, "p1", "c1") == 4
    assert storage.get_chat_client_id(game_id, "p2", "c1") == 5
    assert storage.get_chat_client_id(game_id, "p1", "c2") is None
    assert storage.get_chat_client_id(new_id(), "p1", "c1") is None


def test_chat_client_id_put_replaces(storage):
    game_id = new_id()
    storage.put_chat_client_id(game_id, "p1", "c1", 4)

    storage.put_chat_client_id(game_id, "p1", "c1", 9)

    assert storage.get_chat_client_id(game_id, "p1", "c1") == 9


# -- times ---------------------------------------------------------------


def assert_same_utc_time(actual: datetime, expected: datetime) -> None:
    assert actual == expected
    assert actual.microsecond == expected.microsecond
    assert actual.utcoffset() == timedelta(0)


def test_times_round_trip_to_the_microsecond(storage):
    player = make_player(created_at=T1)
    game = make_game(created_at=T0, updated_at=T1)
    move = MoveRecord(game.id, 1, "a", new_id(), {}, T1)
    turn = make_turn(game.id, 1)
    line = make_line(game.id, 1, sent_at=T1)
    storage.insert_player(player)
    storage.insert_game(game)
    storage.put_move(move)
    storage.put_turn(turn)
    storage.put_chat_line(line)

    assert_same_utc_time(storage.get_player(player.id).created_at, T1)
    assert_same_utc_time(
        storage.get_player_by_token_hash(player.token_hash).created_at, T1
    )
    stored_game = storage.get_game(game.id)
    assert_same_utc_time(stored_game.created_at, T0)
    assert_same_utc_time(stored_game.updated_at, T1)
    stored_move = storage.get_move(game.id, 1, "a", move.write_id)
    assert_same_utc_time(stored_move.submitted_at, T1)
    assert_same_utc_time(storage.get_turn(game.id, 1).resolved_at, turn.resolved_at)
    assert_same_utc_time(storage.get_chat_line(game.id, 1).sent_at, T1)
