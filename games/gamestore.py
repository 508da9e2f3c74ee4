"""Shared steps of every read-modify-write of a game: lock, load, check, commit.

    with game_lock(game_id) as lock:
        game = load_game(game_id)
        ...change game, write move/turn/chat rows...
        commit_game(lock, game)

Rows written inside the block stay invisible until `commit_game` succeeds,
because readers bound every range by the committed games row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from gameserver import clock
from gameserver.errors import Conflict, NotAMember, NotFound
from locking import Lock
from locking.base import Lock as LockBase
from storage import GameRecord, get_storage

logger = logging.getLogger(__name__)


def lock_name(game_id: str) -> str:
    return f"game/{game_id}"


@contextmanager
def game_lock(game_id: str) -> Iterator[LockBase]:
    """Hold the game's lock for the block; LockTimeout becomes 503 upstream."""
    lock = Lock(lock_name(game_id))
    with lock:
        yield lock


def load_game(game_id: str) -> GameRecord:
    game = get_storage().get_game(game_id)
    if game is None:
        raise NotFound(f"Game {game_id} does not exist.")
    return game


def require_seat(game: GameRecord, player_id: str) -> dict:
    seat = game.seat_of(player_id)
    if seat is None:
        raise NotAMember(
            f"You are not seated in game {game.id}.", {"game": game.id}
        )
    return seat


def conflict(game: GameRecord, code: str, message: str, **details) -> Conflict:
    """Build a 409 whose details carry the game's current turn and status."""
    return Conflict(
        message, {"turn": game.turn, "status": game.status, **details}, code=code
    )


def commit_game(lock: LockBase, game: GameRecord) -> None:
    """Write `game` as the next version, fenced on the version it was read at.

    Checks the lock first so that a loss already known (a suspended
    ZooKeeper session) abandons the change before anything is committed.
    The conditional write catches a loss that is not yet known.
    """
    expected = game.version
    lock.check_held()
    game.version = expected + 1
    game.updated_at = clock.now()
    try:
        get_storage().update_game(game, expected)
    except Exception:
        game.version = expected
        raise
    logger.debug("Committed game %s at version %s", game.id, game.version)
