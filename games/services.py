"""Game services: create, join, move, resign, and the one turn-resolution path.

Every function that changes a game runs inside that game's lock and ends
with `commit_game`, the fenced write. Functions take keyword arguments only
and raise `gameserver.errors.ApiError` subclasses for the client's errors.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from gameserver import clock, metrics
from gameserver.errors import InvalidMoveError, InvalidRequest
from gameserver.throttling import settle_rate_limits
from storage import GameRecord, MoveRecord, StorageUnavailable, TurnRecord, get_storage

from .deadlines import clear_deadline, open_turn_deadline, settle_overdue
from .gamestore import (
    commit_game,
    conflict,
    game_lock,
    load_game,
    require_seat,
    set_last_turn,
)
from .listing import (
    INVITED_KEY,
    check_invite,
    free_public_seats,
    invited_ids,
    list_publicly,
    unlist,
)
from .options import check_options, ruleset_options
from .outbox import record_event, stage_outbox
from .rules import InvalidMove, Resolution, get_ruleset
from .waiting import wait_for_change

logger = logging.getLogger(__name__)


# MoveResult.own_move when the caller's pending move is not known.
MOVE_NOT_KNOWN = object()


@dataclass
class MoveResult:
    """What a move submission did; `own_move` saves the view a read of the move.

    `own_move` is the caller's pending move for the game's current turn, or
    MOVE_NOT_KNOWN when this request did not learn it.
    """

    turn: int
    resolved: bool
    game: GameRecord
    own_move: object = MOVE_NOT_KNOWN


def canonical_json(value) -> str:
    """Encode a JSON value so that equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def rules_for(game: GameRecord):
    rules = get_ruleset(game.ruleset)
    if rules is None:
        # A stored game names a ruleset this build no longer has.
        raise StorageUnavailable(f"Game {game.id} uses unknown ruleset {game.ruleset}.")
    return rules


# -- create and join -----------------------------------------------------


def check_ruleset(ruleset):
    """Return the ruleset named by the request's `ruleset`, or raise InvalidRequest."""
    if not isinstance(ruleset, str):
        raise InvalidRequest(
            "Field ruleset is required and must be a string.", {"field": "ruleset"}
        )
    rules = get_ruleset(ruleset)
    if rules is None:
        raise InvalidRequest(f"Unknown ruleset {ruleset!r}.", {"field": "ruleset"})
    return rules


def game_create(
    *,
    player_id: str,
    player_name: str,
    ruleset,
    seats,
    options,
    invite=None,
    game_id: str | None = None,
) -> GameRecord:
    """Create a waiting game with the caller in seat 0 and seats reserved for `invite`.

    `game_id` is for callers that derive the id (a rematch); by default it
    is random. Raise WriteConflict when a game with that id exists.
    """
    rules = check_ruleset(ruleset)
    seats, full_options = check_options(rules, seats, options)
    invited = check_invite(invite, creator_id=player_id, seats=seats)

    now = clock.now()
    game = GameRecord(
        id=game_id or str(uuid.uuid4()),
        ruleset=ruleset,
        seats=seats,
        options=full_options,
        status="waiting",
        turn=0,
        players=[_seat(player_id, player_name, 0)],
        pending={},
        state=None,
        outcome=None,
        resolved_turns=0,
        chat_seq=0,
        version=1,
        created_at=now,
        updated_at=now,
    )
    if invited:
        game.extra[INVITED_KEY] = invited
        record_event(
            game,
            "invited",
            notify=invited,
            data={"by": player_id, "ruleset": ruleset, "seats": seats},
        )

    # The index rows go first: if the insert fails they name a game that
    # does not exist, which readers skip. Invited players find the game in
    # their own list.
    storage = get_storage()
    for member_id in [player_id, *invited]:
        storage.add_player_game(member_id, game.id)
    if free_public_seats(game) > 0:
        list_publicly(game)
    # The insert is this game's commit, so its events are staged as
    # commit_game stages them.
    stage_outbox(game, storage)
    storage.insert_game(game)
    logger.info(
        "Game %s created (%s, %s seats, %s invited) by %s",
        game.id,
        ruleset,
        seats,
        len(invited),
        player_id,
    )
    return game


def game_join(*, player_id: str, player_name: str, game_id: str) -> GameRecord:
    """Seat the caller in a reserved or public seat; the last seat starts the game."""
    # Seats are counted and taken under the lock, so two joiners cannot
    # take the same seat or overfill the game.
    with game_lock(game_id) as lock:
        game = load_game(game_id)
        settle_overdue(lock, game)
        if game.seat_of(player_id) is not None:
            return game
        invited = invited_ids(game)
        if game.status != "waiting" or len(game.players) >= game.seats:
            raise conflict(game, "game_full", f"Game {game.id} has no free seat.")
        if player_id not in invited and free_public_seats(game) <= 0:
            raise conflict(
                game,
                "game_full",
                f"Game {game.id} has no free seat: the seats left are reserved "
                "for invited players.",
            )

        if player_id in invited:
            invited.remove(player_id)
            game.extra[INVITED_KEY] = invited
        game.players.append(_seat(player_id, player_name, len(game.players)))
        get_storage().add_player_game(player_id, game.id)
        started = len(game.players) == game.seats
        if started:
            _start(game)
        commit_game(lock, game)

    if free_public_seats(game) <= 0:
        unlist(game)
    if started:
        logger.info("Game %s started with %s players", game.id, game.seats)
    return game


def _seat(player_id: str, name: str, seat: int) -> dict:
    return {
        "id": player_id,
        "name": name,
        "seat": seat,
        "status": "active",
        "missed": 0,
    }


def _start(game: GameRecord) -> None:
    rules = rules_for(game)
    game.status = "active"
    game.turn = 1
    game.state = rules.initial_state(ruleset_options(game.options), game.player_ids())
    game.extra.pop(INVITED_KEY, None)
    open_turn_deadline(game)
    # The last player seated started the game and learns it from the response.
    record_event(
        game,
        "game_started",
        notify=game.player_ids()[:-1],
        data={"ruleset": game.ruleset, "turn": 1, "players": game.player_ids()},
    )


# -- moves and resolution ------------------------------------------------


def turn_submit_move(*, player_id: str, game_id: str, turn: int, move) -> MoveResult:
    """Store the caller's sealed move for `turn`.

    The turn is resolved when this move was the last one missing.
    """
    # The lock makes "store my move, then check whether every move is in"
    # one step, so of two simultaneous last moves exactly one resolves.
    with game_lock(game_id) as lock:
        game = load_game(game_id)
        seat = require_seat(game, player_id)
        # A move that arrives after the deadline finds the turn closed.
        settle_overdue(lock, game)

        if 1 <= turn <= game.resolved_turns:
            return _retry_of_resolved_turn(game, player_id, turn, move)
        if game.status != "active":
            raise conflict(game, "game_not_active", f"Game {game.id} is {game.status}.")
        if turn > game.turn:
            raise conflict(
                game,
                "wrong_turn",
                f"Turn {turn} has not started; the current turn is {game.turn}.",
            )
        if turn < game.turn:
            raise conflict(game, "turn_closed", f"Turn {turn} is closed.")
        if seat["status"] != "active":
            raise conflict(
                game,
                "game_not_active",
                f"You are {seat['status']} in game {game.id} and cannot move.",
                player_status=seat["status"],
            )

        rules = rules_for(game)
        try:
            rules.check_move(game.state, player_id, move)
        except InvalidMove as exc:
            raise InvalidMoveError(
                exc.reason, {"field": "move", **exc.details}
            ) from None

        storage = get_storage()
        if _same_as_pending(storage, game, player_id, move):
            return MoveResult(turn=turn, resolved=False, game=game, own_move=move)

        settle_rate_limits()
        record = MoveRecord(
            game_id=game.id,
            turn=turn,
            player_id=player_id,
            write_id=uuid.uuid4().hex,
            move=move,
            submitted_at=clock.now(),
        )
        storage.put_move(record)
        game.pending[player_id] = record.write_id
        resolved = all(pid in game.pending for pid in game.active_player_ids())
        if resolved:
            resolve_turn(game, cause="all_in", written={player_id: record})
        commit_game(lock, game)

    # A resolved turn leaves no pending move, so the caller's is None then.
    own_move = None if resolved else move
    return MoveResult(turn=turn, resolved=resolved, game=game, own_move=own_move)


def _retry_of_resolved_turn(
    game: GameRecord, player_id: str, turn: int, move
) -> MoveResult:
    record = committed_turn(game, turn)
    if record is not None and player_id in record.moves:
        if canonical_json(record.moves[player_id]) == canonical_json(move):
            return MoveResult(turn=turn, resolved=True, game=game)
    raise conflict(game, "turn_closed", f"Turn {turn} is already resolved.")


def committed_turn(game: GameRecord, number: int) -> TurnRecord | None:
    """Return resolved turn `number` of the committed game, or None."""
    if not 1 <= number <= game.resolved_turns:
        return None
    if game.last_turn is not None and game.last_turn.number == number:
        return game.last_turn
    return get_storage().get_turn(game.id, number)


def _same_as_pending(storage, game: GameRecord, player_id: str, move) -> bool:
    current = pending_move_record(game, player_id)
    return current is not None and canonical_json(current.move) == canonical_json(move)


def pending_move_record(game: GameRecord, player_id: str) -> MoveRecord | None:
    write_id = game.pending.get(player_id)
    if write_id is None or game.status != "active":
        return None
    return get_storage().get_move(game.id, game.turn, player_id, write_id)


def pending_move(game: GameRecord, player_id: str):
    """Return the caller's committed move for the current turn, or None."""
    record = pending_move_record(game, player_id)
    return None if record is None else record.move


def resolve_turn(
    game: GameRecord,
    *,
    cause: str,
    timed_out: list[str] | None = None,
    written: dict[str, MoveRecord] | None = None,
) -> None:
    """Resolve the current turn into `game`; the caller holds the lock and commits.

    This is the only place a turn resolves. Active players without a move
    get None as their move and are added to `timed_out`, which may also name
    players already put out for missing it. A player's `missed` count grows
    by one for a timed-out turn and goes back to 0 for a move. The resolved
    turn travels in the commit as `last_turn`. `written` holds move rows
    that the caller wrote in this request, by player, so they are not read
    back.
    """
    storage = get_storage()
    rules = rules_for(game)
    timed_out = list(timed_out or [])
    moves = {}
    first_move_at = None
    for pid in game.active_player_ids():
        write_id = game.pending.get(pid)
        if write_id is None:
            moves[pid] = None
            if pid not in timed_out:
                timed_out.append(pid)
            continue
        row = (written or {}).get(pid)
        if row is None or row.write_id != write_id:
            row = storage.get_move(game.id, game.turn, pid, write_id)
        if row is None:
            raise StorageUnavailable(
                f"Move of player {pid} for game {game.id} turn {game.turn} is missing."
            )
        moves[pid] = row.move
        if first_move_at is None or row.submitted_at < first_move_at:
            first_move_at = row.submitted_at

    for pid in moves:
        if pid not in timed_out:
            game.seat_of(pid)["missed"] = 0
    for pid in timed_out:
        seat = game.seat_of(pid)
        seat["missed"] = seat.get("missed", 0) + 1

    resolution = rules.resolve(game.state, moves, turn=game.turn)
    set_last_turn(
        game,
        TurnRecord(
            game_id=game.id,
            number=game.turn,
            moves=moves,
            events=resolution.events,
            resolved_at=clock.now(),
            timed_out=timed_out,
            cause=cause,
        ),
    )
    logger.info("Game %s turn %s resolved (%s)", game.id, game.turn, cause)

    game.state = resolution.state
    game.resolved_turns = game.turn
    game.pending = {}
    for pid in resolution.out:
        seat = game.seat_of(pid)
        if seat is not None and seat["status"] == "active":
            seat["status"] = "out"
    active = game.active_player_ids()
    if resolution.outcome is None and len(active) < 2:
        # The last rival crashed or was put out for missed turns.
        resolution = rules.decide_after_leave(game.state, active) or resolution
    finished = resolution.outcome is not None
    record_event(
        game,
        "turn_resolved",
        notify=game.active_player_ids(),
        data={
            "turn": game.turn,
            "cause": cause,
            "timed_out": timed_out,
            "next_turn": None if finished else game.turn + 1,
        },
    )
    game.after_commit.append(
        partial(_count_resolution, cause, len(timed_out), first_move_at)
    )
    if finished:
        _finish(game, resolution)
    else:
        game.turn += 1
        open_turn_deadline(game)


def _count_resolution(cause: str, missed: int, first_move_at: datetime | None) -> None:
    metrics.TURNS_RESOLVED.labels(cause=cause).inc()
    if missed:
        metrics.MISSED_TURNS.inc(missed)
    if first_move_at is not None:
        elapsed = (clock.now() - first_move_at).total_seconds()
        metrics.TURN_DURATION.observe(max(0.0, elapsed))


def _finish(game: GameRecord, resolution: Resolution) -> None:
    game.state = resolution.state
    game.status = "finished"
    outcome = {}
    for player in game.players:
        if player["status"] == "resigned":
            outcome[player["id"]] = "resigned"
        else:
            outcome[player["id"]] = resolution.outcome.get(player["id"], "lost")
    game.outcome = outcome
    clear_deadline(game)
    record_event(
        game,
        "game_finished",
        notify=game.player_ids(),
        data={"turn": game.turn, "outcome": outcome},
    )
    logger.info("Game %s finished at turn %s", game.id, game.turn)


# -- resign --------------------------------------------------------------


def game_resign(*, player_id: str, game_id: str) -> GameRecord:
    """Mark the caller resigned; finish the game or the turn when that decides it."""
    with game_lock(game_id) as lock:
        game = load_game(game_id)
        seat = require_seat(game, player_id)
        settle_overdue(lock, game)
        if game.status != "active":
            raise conflict(game, "game_not_active", f"Game {game.id} is {game.status}.")
        if seat["status"] != "active":
            return game

        seat["status"] = "resigned"
        game.pending.pop(player_id, None)
        rules = rules_for(game)
        active = game.active_player_ids()
        decision = rules.decide_after_leave(game.state, active)
        if decision is not None and decision.outcome is not None:
            _finish(game, decision)
            commit_game(lock, game)
            return game
        if decision is not None:
            game.state = decision.state
        if active and all(pid in game.pending for pid in active):
            resolve_turn(game, cause="all_in")
        commit_game(lock, game)

    logger.info("Player %s resigned from game %s", player_id, game_id)
    return game


# -- reads ---------------------------------------------------------------


def game_get(
    *,
    game_id: str,
    wait: float = 0.0,
    unchanged: Callable[[GameRecord], bool] | None = None,
) -> GameRecord:
    """Return the committed game.

    With `wait` seconds, while `unchanged(game)` is True (the client's ETag
    is current), the request is held until the game changes or `wait`
    passes. The game is returned either way.
    """
    game = load_game(game_id)
    if wait > 0 and unchanged is not None:
        game = wait_for_change(game, unchanged, wait, load_game)
    return game


def game_list(*, player_id: str) -> list[GameRecord]:
    """Return the caller's games, ordered in four groups.

    First come the games awaiting the caller's move, then the other active
    games, the waiting games and the finished games.

    Games that invite the caller count as waiting ones.
    """
    storage = get_storage()
    games = []
    # NOTE: one read per game in the player's index; a player with
    # thousands of games would want a paged list, which the API lacks.
    for game_id in storage.list_player_game_ids(player_id):
        game = storage.get_game(game_id)
        if game is None:
            continue
        if game.seat_of(player_id) is not None or player_id in invited_ids(game):
            games.append(game)

    def group(game: GameRecord) -> int:
        if game.status == "active":
            return 0 if move_needed(game, player_id) else 1
        return 2 if game.status == "waiting" else 3

    games.sort(key=lambda g: g.created_at, reverse=True)
    games.sort(key=group)
    return games


OPEN_LIST_LIMIT = 100


def game_list_open(*, player_id: str) -> list[GameRecord]:
    """Return waiting games with a free public seat, not the caller's, oldest first."""
    from .rules import RULESETS

    storage = get_storage()
    games = []
    for ruleset in sorted(RULESETS):
        for game_id in storage.list_open_game_ids(ruleset, OPEN_LIST_LIMIT):
            game = storage.get_game(game_id)
            if game is None:
                continue
            if free_public_seats(game) <= 0:
                # A stale index entry: the game filled or the join that
                # filled it committed before the index was updated. A seat
                # given up by an invited player lists the game again.
                storage.remove_open_game(ruleset, game_id)
                continue
            if game.seat_of(player_id) is None:
                games.append(game)
    games.sort(key=lambda g: g.created_at)
    return games[:OPEN_LIST_LIMIT]


def move_needed(game: GameRecord, player_id: str) -> bool:
    seat = game.seat_of(player_id)
    return (
        game.status == "active"
        and seat is not None
        and seat["status"] == "active"
        and player_id not in game.pending
    )


def turn_list(*, game_id: str, after: int, limit: int) -> tuple[list[TurnRecord], int]:
    """Return resolved turns after `after` and the cursor for the next page."""
    game = load_game(game_id)
    first, last = after + 1, game.resolved_turns
    turns = []
    if first <= last:
        turns = get_storage().list_turns(game.id, first, last, limit)
        newest = game.last_turn
        if (
            len(turns) < limit
            and newest is not None
            and newest.number == last
            and (not turns or turns[-1].number < last)
        ):
            # The newest turn's row may not be written yet; the commit has it.
            turns.append(newest)
    next_after = turns[-1].number if turns else after
    return turns, next_after
