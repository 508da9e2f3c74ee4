"""Finding a game: matchmaking, declining an invitation, and rematches.

Lock order: a matchmaking lock is taken before a game's lock, never while
one is held, and no function here holds two game locks at once.
"""

from __future__ import annotations

import logging
import uuid

from gameserver.errors import Conflict, NotAMember
from locking import Lock
from storage import GameRecord, WriteConflict, get_storage

from .gamestore import commit_game, conflict, game_lock, load_game, require_seat
from .listing import (
    DECLINED_KEY,
    INVITED_KEY,
    declined_ids,
    free_public_seats,
    invited_ids,
    list_publicly,
    match_key,
)
from .options import check_options
from .services import check_ruleset, game_create, game_join

logger = logging.getLogger(__name__)

# Queue entries that one matchmaking request reads at most. Entries of games
# that have filled are removed as they are read, so the queue head stays short.
MATCH_SCAN_LIMIT = 20

REMATCH_KEY = "rematch_id"
# Namespace of the rematch game ids: the rematch of game G has the id
# uuid5(REMATCH_NAMESPACE, G), so every request that creates it creates the
# same game, and the storage's insert-if-not-exists keeps only the first.
REMATCH_NAMESPACE = uuid.UUID("97bcb902-b14b-436d-bf88-cb3f721e584a")


def matchmake(
    *, player_id: str, player_name: str, ruleset, seats, options
) -> GameRecord:
    """Seat the caller in the oldest waiting public game that matches, or create one.

    A game matches when its ruleset, seat count and options (defaults
    filled) are the same and it has a free public seat. A caller already
    seated in a waiting game of the queue gets that game back.
    """
    rules = check_ruleset(ruleset)
    seats, full_options = check_options(rules, seats, options)
    key = match_key(ruleset, seats, full_options)

    # One matchmaker at a time per key, so that two callers never each
    # create a game that the other could have joined.
    with Lock(f"match/{key}"):
        game = _join_oldest_match(key, player_id, player_name)
        if game is None:
            game = game_create(
                player_id=player_id,
                player_name=player_name,
                ruleset=ruleset,
                seats=seats,
                options=full_options,
            )
    logger.info("Player %s matched into game %s", player_id, game.id)
    return game


def _join_oldest_match(key: str, player_id: str, player_name: str) -> GameRecord | None:
    storage = get_storage()
    for game_id in storage.list_match_game_ids(key, MATCH_SCAN_LIMIT):
        game = storage.get_game(game_id)
        if game is None:
            # Queued before its insert, which has not happened or failed.
            continue
        if game.seat_of(player_id) is not None and game.status == "waiting":
            return game
        if free_public_seats(game) <= 0:
            storage.remove_match_game(key, game.id, game.created_at)
            continue
        try:
            return game_join(
                player_id=player_id, player_name=player_name, game_id=game.id
            )
        except Conflict as exc:
            # A direct join took the last public seat since the read.
            if exc.code != "game_full":
                raise
    return None


def game_decline(*, player_id: str, game_id: str) -> GameRecord:
    """Give up the caller's reserved seat, which becomes a public one.

    Declining again is a no-op. A seated caller, or any caller once the game
    has started, gets 409 game_not_active, and any other caller who was not
    invited gets 403 not_a_member.
    """
    with game_lock(game_id) as lock:
        game = load_game(game_id)
        if player_id in declined_ids(game):
            return game
        invited = invited_ids(game)
        if game.seat_of(player_id) is not None:
            raise conflict(
                game,
                "game_not_active",
                f"You hold a seat in game {game.id}, so there is no invitation "
                "to decline.",
            )
        if game.status != "waiting":
            raise conflict(
                game,
                "game_not_active",
                f"Game {game.id} is {game.status}, so no invitation to it can be "
                "declined.",
            )
        if player_id not in invited:
            raise NotAMember(
                f"You have no invitation to game {game.id} to decline.",
                {"game": game.id},
            )

        invited.remove(player_id)
        game.extra[INVITED_KEY] = invited
        game.extra[DECLINED_KEY] = [*declined_ids(game), player_id]
        list_publicly(game)
        commit_game(lock, game)

    logger.info("Player %s declined the invitation to game %s", player_id, game.id)
    return game


def game_rematch(*, player_id: str, player_name: str, game_id: str) -> GameRecord:
    """Return the rematch of a finished game, creating it on the first call.

    The rematch has the same ruleset, seats and options, the first caller in
    seat 0 and the other players invited. A later caller who is still
    invited takes a seat.
    """
    with game_lock(game_id) as lock:
        game = load_game(game_id)
        require_seat(game, player_id)
        if game.status != "finished":
            raise conflict(
                game,
                "game_not_active",
                f"Game {game.id} is {game.status}; only a finished game has a rematch.",
            )
        rematch_id = game.extra.get(REMATCH_KEY)
        if rematch_id is None:
            rematch = _create_rematch(game, player_id, player_name)
            game.extra[REMATCH_KEY] = rematch.id
            commit_game(lock, game)
            rematch_id = rematch.id

    rematch = load_game(rematch_id)
    if player_id in invited_ids(rematch):
        rematch = game_join(
            player_id=player_id, player_name=player_name, game_id=rematch.id
        )
    return rematch


def _create_rematch(game: GameRecord, player_id: str, player_name: str) -> GameRecord:
    rematch_id = str(uuid.uuid5(REMATCH_NAMESPACE, game.id))
    others = [pid for pid in game.player_ids() if pid != player_id]
    try:
        rematch = game_create(
            player_id=player_id,
            player_name=player_name,
            ruleset=game.ruleset,
            seats=game.seats,
            options=game.options,
            invite=others,
            game_id=rematch_id,
        )
    except WriteConflict:
        # An earlier holder of the lock created it, then lost the lock
        # before its commit of rematch_id.
        logger.warning("Rematch %s of game %s exists already", rematch_id, game.id)
        return load_game(rematch_id)
    logger.info("Game %s created as the rematch of game %s", rematch.id, game.id)
    return rematch
