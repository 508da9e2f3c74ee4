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
import time
from collections.abc import Iterator
from contextlib import contextmanager

from gameserver import clock, metrics
from gameserver.errors import Conflict, NotAMember, NotFound
from locking import Lock, LockLost, LockTimeout
from locking.base import Lock as LockBase
from storage import (
    ChatLine,
    GameRecord,
    StorageUnavailable,
    TurnRecord,
    WriteConflict,
    get_storage,
)

from . import waiting
from .outbox import stage_outbox

logger = logging.getLogger(__name__)


def lock_name(game_id: str) -> str:
    return f"game/{game_id}"


@contextmanager
def game_lock(game_id: str) -> Iterator[LockBase]:
    """Hold the game's lock for the block; LockTimeout becomes 503 upstream."""
    lock = Lock(lock_name(game_id))
    started = time.perf_counter()
    try:
        acquired = lock.acquire(lock.default_timeout)
    finally:
        metrics.LOCK_WAIT.observe(time.perf_counter() - started)
    if not acquired:
        metrics.LOCK_TIMEOUTS.inc()
        logger.warning(
            "Timed out after %s s waiting for the lock of game %s",
            lock.default_timeout,
            game_id,
        )
        raise LockTimeout(lock.path, lock.default_timeout)
    try:
        yield lock
    finally:
        lock.release()


def load_game(game_id: str) -> GameRecord:
    game = get_storage().get_game(game_id)
    if game is None:
        raise NotFound(f"Game {game_id} does not exist.")
    return game


def require_seat(game: GameRecord, player_id: str) -> dict:
    seat = game.seat_of(player_id)
    if seat is None:
        raise NotAMember(f"You are not seated in game {game.id}.", {"game": game.id})
    return seat


def conflict(game: GameRecord, code: str, message: str, **details) -> Conflict:
    """Build a 409 whose details carry the game's current turn and status."""
    return Conflict(
        message, {"turn": game.turn, "status": game.status, **details}, code=code
    )


def write_row(row: TurnRecord | ChatLine) -> None:
    """Write a committed turn or chat line (and its client_id entry) to its row."""
    storage = get_storage()
    if isinstance(row, TurnRecord):
        storage.put_turn(row)
        return
    storage.put_chat_line(row)
    if row.client_id is not None:
        storage.put_chat_client_id(row.game_id, row.player_id, row.client_id, row.seq)


def set_last_turn(game: GameRecord, turn: TurnRecord) -> None:
    """Make `turn` the game's newest resolved turn, to be committed with it.

    The turn it replaces was committed earlier. Its row is written now, so
    every turn except the newest is in its own row before this commit.
    """
    if game.last_turn is not None:
        write_row(game.last_turn)
    game.last_turn = turn
    game.unflushed.append(turn)


def set_last_chat(game: GameRecord, line: ChatLine) -> None:
    """Make `line` the game's newest chat line, to be committed with it."""
    if game.last_chat is not None:
        write_row(game.last_chat)
    game.last_chat = line
    game.unflushed.append(line)


def commit_game(lock: LockBase, game: GameRecord) -> None:
    """Write `game` as the next version, fenced on the version it was read at.

    Checks the lock first so that a loss already known (a suspended
    ZooKeeper session) abandons the change before anything is committed.
    The conditional write catches a loss that is not yet known. After the
    commit, the new turn and chat rows are written; if that fails the
    change is kept, because readers take the newest turn and line from the
    games row and the next writer writes their rows.
    """
    expected = game.version
    try:
        lock.check_held()
    except LockLost:
        _count_fencing_rejection(game, expected, "lock_lost")
        raise
    storage = get_storage()
    game.version = expected + 1
    game.updated_at = clock.now()
    try:
        stage_outbox(game, storage)
        storage.update_game(game, expected)
    except WriteConflict:
        game.version = expected
        _count_fencing_rejection(game, expected, "version_conflict")
        raise
    except Exception:
        game.version = expected
        raise
    logger.debug("Committed game %s at version %s", game.id, game.version)
    waiting.note_commit(game.id, game.version)
    hooks, game.after_commit = game.after_commit, []
    for hook in hooks:
        hook()

    rows, game.unflushed = game.unflushed, []
    try:
        for row in rows:
            write_row(row)
    except StorageUnavailable as exc:
        logger.warning(
            "Game %s version %s committed, but writing its rows failed (%s); "
            "the next write of the game retries them",
            game.id,
            game.version,
            exc,
        )


def _count_fencing_rejection(game: GameRecord, expected: int, reason: str) -> None:
    metrics.FENCING_REJECTIONS.labels(reason=reason).inc()
    logger.warning(
        "Abandoned the commit of game %s at version %s (%s); nothing was written",
        game.id,
        expected + 1,
        reason,
    )
