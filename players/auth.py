"""Bearer token authentication against the storage layer.

Tokens are random 256-bit strings shown to the player once; storage keeps
only their SHA-256 hash, so a leaked database does not leak tokens.
"""

from __future__ import annotations

import hashlib
import secrets

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
        record = get_storage().get_player_by_token_hash(hash_token(token))
        if record is None:
            raise NotAuthenticated("The token is not valid.")
        request._request.lockstep_player_id = record.id
        return AuthenticatedPlayer(record), None

    def authenticate_header(self, request):
        return 'Bearer realm="lockstep"'
