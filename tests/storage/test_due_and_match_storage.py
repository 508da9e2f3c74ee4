"""Contract of the due index and the matchmaking queue, on every selected backend.

The Cassandra backend shares one keyspace per module, and the due index is
one index for the whole keyspace. So every test uses its own game ids and
its own stretch of time, and filters what `list_due` returns to its ids.
Each test also removes its entries at the end, as the worker would, because
entries left behind would hold back the scan of the next test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from .factories import new_id

# Seconds between the time ranges of two tests of the due index.
SPAN = timedelta(hours=3)
_next_base = [datetime(2031, 5, 17, 8, 0, 0, 123456, tzinfo=UTC)]


def time_range() -> datetime:
    """Return a start time that no other test of this module uses."""
    _next_base[0] += SPAN
    return _next_base[0]


def own(entries, game_ids) -> list[tuple[str, datetime]]:
    return [(e.game_id, e.due_at) for e in entries if e.game_id in game_ids]


class DueEntries:
    """Adds entries to the due index and removes them when the test ends."""

    def __init__(self, storage):
        self.storage = storage
        self.added: list[tuple[str, datetime]] = []

    def add(self, game_id: str, due_at: datetime) -> None:
        self.storage.add_due(game_id, due_at)
        self.added.append((game_id, due_at))


@pytest.fixture
def due(storage):
    entries = DueEntries(storage)
    yield entries
    for game_id, due_at in entries.added:
        storage.remove_due(game_id, due_at)


# -- due index --------------------------------------------------------------


def test_due_listed_oldest_first_up_to_until(storage, due):
    base = time_range()
    games = [new_id() for _ in range(4)]
    # Across three minutes, added out of order.
    due_times = {
        games[0]: base + timedelta(seconds=130),
        games[1]: base + timedelta(seconds=5),
        games[2]: base + timedelta(seconds=61, microseconds=7),
        games[3]: base + timedelta(seconds=300),
    }
    for game_id in (games[2], games[0], games[3], games[1]):
        due.add(game_id, due_times[game_id])

    listed = own(storage.list_due(base + timedelta(seconds=130), 1000), due_times)

    assert listed == [
        (games[1], due_times[games[1]]),
        (games[2], due_times[games[2]]),
        (games[0], due_times[games[0]]),
    ]


def test_due_time_round_trips_to_the_microsecond(storage, due):
    base = time_range()
    game_id = new_id()
    due_at = base + timedelta(microseconds=999999)
    due.add(game_id, due_at)

    listed = own(storage.list_due(due_at, 1000), {game_id})

    assert listed == [(game_id, due_at)]
    assert listed[0][1].tzinfo is not None


def test_due_limit(storage, due):
    base = time_range()
    games = [new_id() for _ in range(5)]
    for offset, game_id in enumerate(games):
        due.add(game_id, base + timedelta(seconds=offset))

    listed = storage.list_due(base + timedelta(seconds=10), 2)

    assert len(listed) == 2


def test_due_remove(storage, due):
    base = time_range()
    first, second = new_id(), new_id()
    due.add(first, base)
    due.add(second, base)
    due.add(first, base + timedelta(seconds=30))

    storage.remove_due(first, base)
    storage.remove_due(first, base)
    storage.remove_due(new_id(), base)

    listed = own(storage.list_due(base + timedelta(minutes=1), 1000), {first, second})
    assert listed == [(second, base), (first, base + timedelta(seconds=30))]


def test_due_add_again_is_harmless(storage, due):
    base = time_range()
    game_id = new_id()
    due.add(game_id, base)
    due.add(game_id, base)

    assert own(storage.list_due(base, 1000), {game_id}) == [(game_id, base)]


def test_due_listed_after_scan_moved_on(storage, due):
    # A scan far past an entry's time, then an entry behind it: the entry
    # is still listed (the Cassandra backend moves its scan position back).
    base = time_range()
    late = new_id()
    due.add(late, base + timedelta(hours=2))
    storage.list_due(base + timedelta(hours=2), 1000)
    for game_id, due_at in own(
        storage.list_due(base + timedelta(hours=2), 1000), {late}
    ):
        storage.remove_due(game_id, due_at)

    early = new_id()
    due.add(early, base + timedelta(minutes=1))

    listed = own(storage.list_due(base + timedelta(hours=2), 1000), {early})
    assert listed == [(early, base + timedelta(minutes=1))]


def test_due_none_before_until(storage, due):
    base = time_range()
    game_id = new_id()
    due.add(game_id, base + timedelta(minutes=5))

    assert own(storage.list_due(base, 1000), {game_id}) == []
    assert own(storage.list_due(base + timedelta(minutes=5), 1000), {game_id}) == [
        (game_id, base + timedelta(minutes=5))
    ]


# -- matchmaking queue ------------------------------------------------------------


def test_match_queue_oldest_first(storage):
    key = uuid.uuid4().hex
    base = time_range()
    games = [new_id() for _ in range(3)]
    created = [base + timedelta(seconds=2), base, base + timedelta(seconds=1)]
    for game_id, created_at in zip(games, created, strict=True):
        storage.add_match_game(key, game_id, created_at)

    assert storage.list_match_game_ids(key, 10) == [games[1], games[2], games[0]]
    assert storage.list_match_game_ids(key, 1) == [games[1]]
    assert storage.list_match_game_ids(uuid.uuid4().hex, 10) == []


def test_match_queue_remove_and_readd(storage):
    key = uuid.uuid4().hex
    base = time_range()
    first, second = new_id(), new_id()
    storage.add_match_game(key, first, base)
    storage.add_match_game(key, second, base + timedelta(seconds=1))

    storage.remove_match_game(key, first, base)
    storage.remove_match_game(key, first, base)
    assert storage.list_match_game_ids(key, 10) == [second]

    # A game queued again keeps its place by creation time.
    storage.add_match_game(key, first, base)
    storage.add_match_game(key, first, base)
    assert storage.list_match_game_ids(key, 10) == [first, second]
