"""Per-player rate limits on move submissions and chat posts.

DRF's own throttles keep their counts in Django's cache, which is per
process here, so N gunicorn workers on M hosts would let N * M times the
limit through. These throttles count in the storage layer instead, with
`Storage.hit_rate_limit`, which checks and increments atomically across
every worker and host that shares the storage.

The window is fixed: it starts at a multiple of its length in Unix time.
A burst that straddles a window boundary can pass up to twice the limit
within one window's length, which is the usual trade-off of fixed windows
for one counter row per player and window.

On Cassandra a count takes a lightweight transaction of several
milliseconds, so the throttle only starts it (`Storage.hit_rate_limit_async`)
and the request goes on to take the game's lock and read the game. The
service that writes the change calls `settle_rate_limits()` before its
first write, which waits for the count and raises RateLimited (429) when
the request is over the limit. A request that ends without writing anything
is counted all the same. When the count is already known, as on SQLite, the
throttle raises RateLimited at once.
"""

from __future__ import annotations

import math
from concurrent.futures import Future
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from gameserver import clock
from gameserver.errors import RateLimited
from storage import get_storage


@dataclass(frozen=True)
class PendingRateCheck:
    """A rate-limit count started by a throttle and not yet read."""

    scope: str
    requests: int
    window: int
    window_start: int
    count: Future[int | None]

    def raise_if_over(self) -> None:
        """Wait for the count and raise RateLimited if the request is over the limit."""
        if self.count.result() is not None:
            return
        now = clock.now().timestamp()
        retry_after = max(1, math.ceil(self.window_start + self.window - now))
        raise RateLimited(
            f"Too many {self.scope} requests: the limit is {self.requests} per "
            f"{self.window} s. Retry after {retry_after} s.",
            retry_after,
            {"scope": self.scope, "limit": self.requests, "window": self.window},
        )


# The checks started during the current request. RateLimitMiddleware resets
# it at the start and end of every request, because gunicorn's threads serve
# one request after another in the same context.
_pending: ContextVar[tuple[PendingRateCheck, ...]] = ContextVar(
    "lockstep_pending_rate_checks", default=()
)


def settle_rate_limits() -> None:
    """Wait for this request's rate-limit counts and raise RateLimited if one is over.

    Services call this before the first write of a change that a throttle
    limits. Calling it again, or without a pending count, does nothing.
    """
    checks = _pending.get()
    _pending.set(())
    for check in checks:
        check.raise_if_over()


class RateLimitMiddleware:
    """Clear the pending rate-limit counts at the start and end of every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _pending.set(())
        try:
            return self.get_response(request)
        finally:
            _pending.set(())


class StorageRateThrottle(BaseThrottle):
    """Limit one kind of write per authenticated player, counted in storage.

    Subclasses name the `scope` (also the counter's key prefix), the
    `setting` that contains (requests, window seconds) or None, and the HTTP
    `methods` that count. Requests of other methods pass uncounted.
    """

    scope = ""
    setting = ""
    methods: frozenset[str] = frozenset()

    def allow_request(self, request, view) -> bool:
        rate = getattr(settings, self.setting)
        if rate is None or request.method not in self.methods:
            return True
        player = request.user
        if player is None or not getattr(player, "is_authenticated", False):
            return True
        requests, window = rate

        now = clock.now().timestamp()
        window_start = int(now // window) * window
        check = PendingRateCheck(
            scope=self.scope,
            requests=requests,
            window=window,
            window_start=window_start,
            count=get_storage().hit_rate_limit_async(
                f"{self.scope}:{player.id}", window_start, window, requests
            ),
        )
        if check.count.done():
            check.raise_if_over()
        else:
            _pending.set((*_pending.get(), check))
        return True


class MoveRateThrottle(StorageRateThrottle):
    scope = "move"
    setting = "LOCKSTEP_RATE_MOVES"
    methods = frozenset({"PUT"})


class ChatRateThrottle(StorageRateThrottle):
    scope = "chat"
    setting = "LOCKSTEP_RATE_CHAT"
    methods = frozenset({"POST"})
