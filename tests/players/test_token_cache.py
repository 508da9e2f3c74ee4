"""The per-process cache of players by token hash."""

from __future__ import annotations

from datetime import UTC, datetime

from players.auth import TokenCache
from storage.records import PlayerRecord


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def player(name: str) -> PlayerRecord:
    return PlayerRecord(
        id=f"id-{name}",
        name=name,
        token_hash=f"hash-{name}",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_token_cache_returns_entry_until_ttl():
    clock = FakeClock()
    cache = TokenCache(ttl=60, size=10, clock=clock)
    cache.put("hash-ada", player("ada"))

    clock.now += 59.9
    assert cache.get("hash-ada") == player("ada")

    clock.now += 0.1
    assert cache.get("hash-ada") is None


def test_token_cache_misses_unknown_hash():
    cache = TokenCache(ttl=60, size=10, clock=FakeClock())

    assert cache.get("hash-nobody") is None


def test_token_cache_drops_least_recently_used():
    cache = TokenCache(ttl=60, size=2, clock=FakeClock())
    cache.put("hash-ada", player("ada"))
    cache.put("hash-bob", player("bob"))
    assert cache.get("hash-ada") is not None

    cache.put("hash-cy", player("cy"))

    assert cache.get("hash-bob") is None
    assert cache.get("hash-ada") == player("ada")
    assert cache.get("hash-cy") == player("cy")


def test_token_cache_zero_ttl_stores_nothing():
    cache = TokenCache(ttl=0, size=10, clock=FakeClock())
    cache.put("hash-ada", player("ada"))

    assert cache.get("hash-ada") is None


def test_token_cache_clear():
    cache = TokenCache(ttl=60, size=10, clock=FakeClock())
    cache.put("hash-ada", player("ada"))

    cache.clear()

    assert cache.get("hash-ada") is None
