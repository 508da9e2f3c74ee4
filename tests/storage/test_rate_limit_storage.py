"""Contract of Storage.hit_rate_limit on every selected backend."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

WINDOW = 10


def unique_key() -> str:
    return f"test:{uuid.uuid4()}"


def test_counts_up_to_limit(storage):
    key = unique_key()

    counts = [storage.hit_rate_limit(key, 1000, WINDOW, 3) for _ in range(5)]

    assert counts == [1, 2, 3, None, None]


def test_next_window_starts_over(storage):
    key = unique_key()
    for _ in range(3):
        storage.hit_rate_limit(key, 1000, WINDOW, 3)

    assert storage.hit_rate_limit(key, 1010, WINDOW, 3) == 1
    assert storage.hit_rate_limit(key, 1010, WINDOW, 3) == 2


def test_keys_are_independent(storage):
    first, second = unique_key(), unique_key()
    storage.hit_rate_limit(first, 1000, WINDOW, 1)

    assert storage.hit_rate_limit(first, 1000, WINDOW, 1) is None
    assert storage.hit_rate_limit(second, 1000, WINDOW, 1) == 1


def test_zero_limit_rejects(storage):
    assert storage.hit_rate_limit(unique_key(), 1000, WINDOW, 0) is None


def test_concurrent_hits_never_exceed_limit(storage):
    key = unique_key()
    limit, callers = 5, 20
    start = threading.Barrier(callers)

    def hit(_):
        start.wait(timeout=30)
        return storage.hit_rate_limit(key, 2000, WINDOW, limit)

    with ThreadPoolExecutor(max_workers=callers) as pool:
        results = list(pool.map(hit, range(callers)))

    passed = sorted(count for count in results if count is not None)
    assert passed == list(range(1, limit + 1))
    assert results.count(None) == callers - limit


def test_async_hits_never_exceed_limit(storage):
    key = unique_key()

    futures = [storage.hit_rate_limit_async(key, 3000, WINDOW, 3) for _ in range(6)]
    results = [future.result(timeout=30) for future in futures]

    assert sorted(count for count in results if count is not None) == [1, 2, 3]
    assert results.count(None) == 3
