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
"""

from __future__ import annotations

import math

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from gameserver import clock
from gameserver.errors import RateLimited
from storage import get_storage


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
        count = get_storage().hit_rate_limit(
            f"{self.scope}:{player.id}", window_start, window, requests
        )

        if count is not None:
            return True
        retry_after = max(1, math.ceil(window_start + window - now))
        raise RateLimited(
            f"Too many {self.scope} requests: the limit is {requests} per "
            f"{window} s. Retry after {retry_after} s.",
            retry_after,
            {"scope": self.scope, "limit": requests, "window": window},
        )


class MoveRateThrottle(StorageRateThrottle):
    scope = "move"
    setting = "LOCKSTEP_RATE_MOVES"
    methods = frozenset({"PUT"})


class ChatRateThrottle(StorageRateThrottle):
    scope = "chat"
    setting = "LOCKSTEP_RATE_CHAT"
    methods = frozenset({"POST"})
