"""Seats of a waiting game: reserved for invited players or public, and the indexes.

A game created with invites keeps the ids of the invited players who have
neither joined nor declined in `extra["invited"]`, and each of them has one
reserved seat. The other free seats are public: anyone may join them, and
the game is listed by `?view=open` and queued for matchmaking only while it
has one. Index entries are hints written before the commit that makes them
true, and removed after the commit that makes them false, so readers check
the committed games row.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from gameserver.errors import InvalidRequest
from storage import GameRecord, get_storage

INVITED_KEY = "invited"
DECLINED_KEY = "declined"


def invited_ids(game: GameRecord) -> list[str]:
    """Return the invited players who hold a reserved seat of the waiting game."""
    return list(game.extra.get(INVITED_KEY, []))


def declined_ids(game: GameRecord) -> list[str]:
    return list(game.extra.get(DECLINED_KEY, []))


def free_public_seats(game: GameRecord) -> int:
    if game.status != "waiting":
        return 0
    return game.seats - len(game.players) - len(invited_ids(game))


def match_key(ruleset: str, seats: int, options: dict) -> str:
    """Return the matchmaking key of games with this ruleset, seat count and options.

    `options` must be the full options with defaults filled, so that `{}`
    and the same options spelled out give one key.
    """
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"))
    text = f"{ruleset}|{seats}|{canonical}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def game_match_key(game: GameRecord) -> str:
    return match_key(game.ruleset, game.seats, game.options)


def list_publicly(game: GameRecord) -> None:
    """Index the game in the open list and the matchmaking queue.

    Call before the commit that gives the game a free public seat.
    """
    storage = get_storage()
    storage.add_open_game(game.ruleset, game.id)
    storage.add_match_game(game_match_key(game), game.id, game.created_at)


def unlist(game: GameRecord) -> None:
    """Drop the game from the open list and the matchmaking queue.

    Call after the commit that took its last free public seat.
    """
    storage = get_storage()
    storage.remove_open_game(game.ruleset, game.id)
    storage.remove_match_game(game_match_key(game), game.id, game.created_at)


def check_invite(invite, *, creator_id: str, seats: int) -> list[str]:
    """Return the invited player ids, or raise InvalidRequest naming the problem.

    `invite` must be a list of distinct ids of existing players, not the
    creator's, with at most `seats - 1` entries. Ids are compared and
    returned in lowercase, the case of stored ids, because iOS's
    `UUID().uuidString` is uppercase.
    """
    if invite is None:
        return []
    if not isinstance(invite, list) or not all(isinstance(p, str) for p in invite):
        raise InvalidRequest(
            "Field invite must be a list of player ids.", {"field": "invite"}
        )
    invite = [player_id.lower() for player_id in invite]
    if len(invite) > seats - 1:
        raise InvalidRequest(
            f"Field invite lists {len(invite)} players, but a game of {seats} "
            f"seats can reserve at most {seats - 1}.",
            {"field": "invite", "limit": seats - 1},
        )
    if len(set(invite)) != len(invite):
        raise InvalidRequest(
            "Field invite lists a player more than once.", {"field": "invite"}
        )
    if creator_id in invite:
        raise InvalidRequest(
            "Field invite must not list the game's creator.", {"field": "invite"}
        )
    storage = get_storage()
    for player_id in invite:
        # Player ids are UUIDs. Anything else names no player and is not
        # looked up, because Cassandra rejects an empty key with an error.
        if not _is_uuid(player_id) or storage.get_player(player_id) is None:
            raise InvalidRequest(
                f"Field invite names player {player_id[:40]!r}, who does not exist.",
                {"field": "invite", "player": player_id[:40]},
            )
    return invite


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
