"""Bearer token authentication against the storage layer.

Tokens are random 256-bit strings shown to the player once; storage keeps
only their SHA-256 hash, so a leaked database does not leak tokens.

Each process keeps the players of recently used tokens in a `TokenCache`
for LOCKSTEP_TOKEN_CACHE_SECONDS, because looking the token up was one of
the two storage reads of every poll. The API has no way to revoke a token,
rename a player or delete one, so a cached entry cannot go stale today.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.conf import settings
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from gameserver.errors import NotAuthenticated
from storage import PlayerRecord, get_storage

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AuthenticatedPlayer:
    """The request's user: a player, with what DRF's permission checks expect."""

    is_authenticated = True

    def __init__(self, record: PlayerRecord):
        self.record = record
        self.id = record.id
        self.name = record.name


class TokenCache:
    """Players by token hash, each kept for `ttl` seconds, at most `size` of them.

    Safe to use from several threads. Unknown tokens are never cached, so
    requests with made-up tokens cannot fill it. The least recently used
    entry goes first when the cache is full.
    """

    def __init__(
        self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic
    ):
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, PlayerRecord]] = OrderedDict()

    def get(self, token_hash: str) -> PlayerRecord | None:
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            expires, record = entry
            if self._clock() >= expires:
                del self._entries[token_hash]
                return None
            self._entries.move_to_end(token_hash)
            return record

    def put(self, token_hash: str, record: PlayerRecord) -> None:
        if self.ttl <= 0 or self.size <= 0:
            return
        with self._lock:
            self._entries[token_hash] = (self._clock() + self.ttl, record)
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# Entries per process; one entry is a few hundred bytes.
TOKEN_CACHE_SIZE = 10_000
token_cache = TokenCache(settings.LOCKSTEP_TOKEN_CACHE_SECONDS, TOKEN_CACHE_SIZE)


def player_for_token(token: str) -> PlayerRecord | None:
    """Return the player whose token this is, from the cache or from storage."""
    token_hash = hash_token(token)
    record = token_cache.get(token_hash)
    if record is None:
        record = get_storage().get_player_by_token_hash(token_hash)
        if record is not None:
            token_cache.put(token_hash, record)
    return record


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != b"bearer" or len(header) != 2:
            raise NotAuthenticated("The Authorization header must be 'Bearer <token>'.")
        try:
            token = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise NotAuthenticated("The token is not valid.") from None
        record = player_for_token(token)
        if record is None:
            raise NotAuthenticated("The token is not valid.")
        request._request.lockstep_player_id = record.id
        return AuthenticatedPlayer(record), None

    def authenticate_header(self, request):
        return 'Bearer realm="lockstep"'
