"""Contract of the storage's webhook outbox index, cursor and version reads."""

from __future__ import annotations

import uuid

from tests.storage.factories import make_game, next_version


def unique_id() -> str:
    return str(uuid.uuid4())


def listed(storage, game_id: str) -> bool:
    return game_id in storage.list_outbox_game_ids(100000)


def test_outbox_mark_listed_until_removed(storage):
    game_id = unique_id()

    storage.add_outbox_game(game_id, 3)
    assert listed(storage, game_id)

    storage.remove_outbox_game(game_id, 3)
    assert not listed(storage, game_id)


def test_outbox_mark_survives_older_removal(storage):
    game_id = unique_id()
    storage.add_outbox_game(game_id, 5)

    storage.remove_outbox_game(game_id, 4)

    assert listed(storage, game_id)


def test_outbox_mark_of_later_commit_survives(storage):
    # A writer marks version 7 while the dispatcher finishes version 6.
    game_id = unique_id()
    storage.add_outbox_game(game_id, 6)
    storage.remove_outbox_game(game_id, 6)

    storage.add_outbox_game(game_id, 7)

    assert listed(storage, game_id)
    storage.remove_outbox_game(game_id, 7)
    assert not listed(storage, game_id)


def test_outbox_mark_added_twice_listed_once(storage):
    game_id = unique_id()
    storage.add_outbox_game(game_id, 2)
    storage.add_outbox_game(game_id, 3)

    assert storage.list_outbox_game_ids(100000).count(game_id) == 1
    storage.remove_outbox_game(game_id, 2)
    assert listed(storage, game_id)


def test_outbox_list_respects_limit(storage):
    for _ in range(3):
        storage.add_outbox_game(unique_id(), 1)

    assert len(storage.list_outbox_game_ids(2)) == 2


def test_outbox_cursor_starts_at_zero(storage):
    assert storage.get_outbox_cursor(unique_id()) == 0


def test_outbox_cursor_only_moves_forward(storage):
    game_id = unique_id()

    storage.set_outbox_cursor(game_id, 5)
    storage.set_outbox_cursor(game_id, 3)

    assert storage.get_outbox_cursor(game_id) == 5
    storage.set_outbox_cursor(game_id, 8)
    assert storage.get_outbox_cursor(game_id) == 8


def test_game_versions_of_existing_games(storage):
    first, second = make_game(), make_game()
    storage.insert_game(first)
    storage.insert_game(second)
    storage.update_game(next_version(second), 1)
    missing = unique_id()

    versions = storage.get_game_versions([first.id, second.id, missing])

    assert versions == {first.id: 1, second.id: 2}
    assert storage.get_game_versions([]) == {}
