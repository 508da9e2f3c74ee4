"""Player registration and lookup."""

from __future__ import annotations

import logging
import unicodedata
import uuid

from gameserver import clock
from gameserver.errors import InvalidRequest
from gameserver.params import json_type
from storage import PlayerRecord, get_storage

from .auth import hash_token, new_token

logger = logging.getLogger(__name__)

NAME_MAX_CHARS = 40
# Format characters (zero-width space, direction marks), separators and
# combining marks: a name made only of these shows as nothing.
INVISIBLE_CATEGORIES = {"Cf", "Zs", "Zl", "Zp", "Mn", "Me"}


def clean_name(raw) -> str:
    """Return the trimmed name, or raise InvalidRequest naming the rule it breaks."""
    if raw is None:
        raise InvalidRequest("Field name is required.", {"field": "name"})
    if not isinstance(raw, str):
        raise InvalidRequest(
            f"Field name must be a string, got {json_type(raw)}.", {"field": "name"}
        )
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise InvalidRequest("Field name must not be empty.", {"field": "name"})
    if len(name) > NAME_MAX_CHARS:
        raise InvalidRequest(
            f"Field name is {len(name)} characters; the limit is {NAME_MAX_CHARS}.",
            {"field": "name", "limit": NAME_MAX_CHARS},
        )
    if all(unicodedata.category(ch) in INVISIBLE_CATEGORIES for ch in name):
        raise InvalidRequest(
            "Field name must contain a visible character.", {"field": "name"}
        )
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidRequest(
            "Field name must not contain control characters.", {"field": "name"}
        )
    return name


def player_create(*, name) -> tuple[PlayerRecord, str]:
    """Create a player and return it with its token, which is never stored."""
    clean = clean_name(name)
    token = new_token()
    player = PlayerRecord(
        id=str(uuid.uuid4()),
        name=clean,
        token_hash=hash_token(token),
        created_at=clock.now(),
    )
    get_storage().insert_player(player)
    logger.info("Player %s registered", player.id)
    return player, token
