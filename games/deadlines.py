"""Turn deadlines: closing a turn whose time ran out, by a request or the worker.

When a turn opens, the game gets the time it closes in `extra["deadline"]`
(ISO 8601) and an entry in the storage's due index, written before the
commit as a hint. Two things close an overdue turn, both under the game's
lock and both through `services.resolve_turn` with cause "deadline":

- `settle_overdue`, which every write request (move, resign, chat post,
  join) calls right after loading the game, so the request then works on
  the next turn, and a late move for the closed turn gets 409 turn_closed.
- `resolve_due_games`, the worker task, which walks the due index.

Each re-checks the committed deadline under the lock, so however many
workers and requests race, a deadline fires once: the first to get the lock
resolves the turn, and the others find a later deadline or a finished game.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from gameserver import clock
from locking import LockError
from locking.base import Lock
from storage import DueEntry, GameRecord, StorageError, get_storage

from .gamestore import commit_game, game_lock
from .options import MAX_MISSED_DEFAULT, TURN_SECONDS_DEFAULT

logger = logging.getLogger(__name__)

DEADLINE_KEY = "deadline"

# Due index entries that one run of the worker task handles at most.
DUE_BATCH_SIZE = 100
# Seconds after which the worker tries again a game whose turn it failed to
# close (lock timeout, storage failure).
RETRY_SECONDS = 30


def deadline_of(game: GameRecord) -> datetime | None:
    """Return when the game's current turn closes, or None when it has no deadline."""
    text = game.extra.get(DEADLINE_KEY)
    if game.status != "active" or not text:
        return None
    return datetime.fromisoformat(text)


def open_turn_deadline(game: GameRecord) -> None:
    """Give the game's current turn its deadline. The caller holds the lock and commits.

    The due index entry is written now, before the commit, because a
    deadline committed without one could go unnoticed by the worker. An
    entry whose commit fails is dropped by the worker when it comes due.
    """
    seconds = game.options.get("turn_seconds", TURN_SECONDS_DEFAULT)
    due_at = clock.now() + timedelta(seconds=seconds)
    get_storage().add_due(game.id, due_at)
    game.extra[DEADLINE_KEY] = due_at.isoformat()


def clear_deadline(game: GameRecord) -> None:
    game.extra.pop(DEADLINE_KEY, None)


def is_overdue(game: GameRecord, now: datetime) -> bool:
    deadline = deadline_of(game)
    return deadline is not None and deadline <= now


def expire_turn(game: GameRecord) -> list[str]:
    """Resolve the current turn at its deadline. The caller holds the lock and commits.

    Active players with no move time out. Under `on_timeout: "forfeit"`, and
    for a player whose consecutive misses reach `max_missed`, the player is
    out before the turn resolves, so the ruleset treats the player as gone.
    The others get None as their move, which each ruleset interprets (its
    `missed_move_meaning()`). Return the players who timed out.
    """
    # Imported here because services imports this module.
    from .services import resolve_turn

    on_timeout = game.options.get("on_timeout", "skip")
    max_missed = game.options.get("max_missed", MAX_MISSED_DEFAULT)
    timed_out = [pid for pid in game.active_player_ids() if pid not in game.pending]
    for pid in timed_out:
        seat = game.seat_of(pid)
        if on_timeout == "forfeit" or seat.get("missed", 0) + 1 >= max_missed:
            seat["status"] = "out"

    turn = game.turn
    resolve_turn(game, cause="deadline", timed_out=timed_out)
    logger.info(
        "Game %s turn %s closed at its deadline; timed out: %s",
        game.id,
        turn,
        ", ".join(timed_out) or "nobody",
    )
    return timed_out


def settle_overdue(lock: Lock, game: GameRecord) -> bool:
    """Close the game's overdue turn and commit, before a request changes the game.

    Called under the game's lock right after loading it. Return whether a
    turn was closed, in which case `game` is the committed next version.
    """
    if not is_overdue(game, clock.now()):
        return False
    expire_turn(game)
    commit_game(lock, game)
    return True


def resolve_due_games(now: datetime | None = None) -> int:
    """Close every turn whose deadline is at or before `now` (default: the clock's now).

    The worker task of `manage.py run_worker`. It reads up to DUE_BATCH_SIZE
    due index entries, and for each takes the game's lock, reloads the game
    and closes its turn if the committed deadline has passed. An entry is
    removed once its game is handled or found not due. One whose game could
    not be locked or written moves RETRY_SECONDS ahead. Return the number of
    entries removed.
    """
    now = now or clock.now()
    storage = get_storage()
    handled = 0
    for entry in storage.list_due(now, DUE_BATCH_SIZE):
        try:
            close_overdue_turn(entry.game_id, now)
        except (LockError, StorageError) as exc:
            logger.warning(
                "Deadline of game %s at %s not handled, retrying in %s s: %s",
                entry.game_id,
                entry.due_at.isoformat(),
                RETRY_SECONDS,
                exc,
            )
            _postpone(entry, now)
            continue
        except Exception:
            logger.exception(
                "Closing the turn of game %s failed, retrying in %s s",
                entry.game_id,
                RETRY_SECONDS,
            )
            _postpone(entry, now)
            continue
        storage.remove_due(entry.game_id, entry.due_at)
        handled += 1
    return handled


def _postpone(entry: DueEntry, now: datetime) -> None:
    """Move a failed entry to RETRY_SECONDS from now.

    An entry left at its old time would hold back the scan of a backend
    that keeps a scan position, and the game's committed deadline, not the
    entry's time, decides when the turn closes.
    """
    storage = get_storage()
    try:
        storage.add_due(entry.game_id, now + timedelta(seconds=RETRY_SECONDS))
        storage.remove_due(entry.game_id, entry.due_at)
    except StorageError as exc:
        logger.warning(
            "Postponing the deadline entry of game %s failed, so it stays: %s",
            entry.game_id,
            exc,
        )


def close_overdue_turn(game_id: str, now: datetime) -> bool:
    """Close the game's current turn if its committed deadline is at or before `now`.

    Return whether this call closed it. The lock and the re-check of the
    committed deadline make a deadline fire once, whoever else holds an
    entry for it or sends the last move at the same time.
    """
    with game_lock(game_id) as lock:
        game = get_storage().get_game(game_id)
        if game is None or not is_overdue(game, now):
            return False
        expire_turn(game)
        commit_game(lock, game)
    return True
