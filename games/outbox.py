"""The webhook outbox: events recorded in the same fenced commit as their change.

A service that changes a game calls `record_event` before `commit_game`.
The event goes into `game.outbox`, which is part of the games row, so it
commits exactly when the change commits: a commit rejected by fencing
leaves no event behind, and no committed change lacks its event.
`commit_game` calls `stage_outbox` just before its conditional write, which

- stamps the new events with the version and time of the commit,
- drops the events that the dispatcher (games/webhooks.py) has already
  delivered or given up, as recorded in the game's outbox cursor,
- drops the oldest events beyond MAX_OUTBOX_EVENTS, and
- marks the game in the storage's outbox index, before the commit, so the
  dispatcher finds it. The committed games row stays the truth: a mark
  left by a rejected commit leads the dispatcher to no event.

Delivered events are not removed by a commit of their own, which would
bump the game's public version and wake every polling client for nothing.
The cursor stores delivery progress apart from the games row, and the
next commit of the game trims the outbox.

Events are recorded only while LOCKSTEP_WEBHOOK_URL is set.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings

from gameserver import metrics
from gameserver.clock import rfc3339
from storage import GameRecord, Storage

logger = logging.getLogger(__name__)

EVENT_TYPES = frozenset(
    {"game_started", "turn_resolved", "game_finished", "chat_posted", "invited"}
)

# Undelivered events kept per game. Every poll reads the games row, so the
# row must not grow without bound while a receiver is down. Beyond this
# number the oldest events are dropped with an error log line.
MAX_OUTBOX_EVENTS = 200


def webhooks_enabled() -> bool:
    return bool(settings.LOCKSTEP_WEBHOOK_URL)


def record_event(
    game: GameRecord, event_type: str, *, notify: list[str], data: dict
) -> None:
    """Add an event to the game's outbox, to commit with the change it describes.

    `notify` lists the ids of the players that a push service should tell.
    Does nothing while webhooks are off.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"Unknown webhook event type {event_type!r}.")
    if not webhooks_enabled():
        return
    game.outbox.append(
        {
            "id": str(uuid.uuid4()),
            "type": event_type,
            "game": game.id,
            # Set by stage_outbox to the version and time of the commit.
            "version": None,
            "notify": list(notify),
            "at": None,
            "data": data,
        }
    )


def stage_outbox(game: GameRecord, storage: Storage) -> None:
    """Prepare `game.outbox` for the commit that writes `game.version`.

    Called with the lock held, after `game.version` and `game.updated_at`
    are set to the values being committed, and before the conditional write.
    """
    if not game.outbox:
        return
    new_events = [event for event in game.outbox if event["version"] is None]
    for event in new_events:
        event["version"] = game.version
        event["at"] = rfc3339(game.updated_at)

    if len(new_events) < len(game.outbox):
        done = storage.get_outbox_cursor(game.id)
        game.outbox = [event for event in game.outbox if event["version"] > done]
    overflow = len(game.outbox) - MAX_OUTBOX_EVENTS
    if overflow > 0:
        dropped, game.outbox = game.outbox[:overflow], game.outbox[overflow:]
        metrics.WEBHOOK_DROPPED.labels(reason="outbox_full").inc(overflow)
        logger.error(
            "Dropped %s undelivered webhook events of game %s, versions %s to %s, "
            "because its outbox holds at most %s; check that LOCKSTEP_WEBHOOK_URL "
            "answers and that the worker runs",
            overflow,
            game.id,
            dropped[0]["version"],
            dropped[-1]["version"],
            MAX_OUTBOX_EVENTS,
        )

    if new_events:
        storage.add_outbox_game(game.id, game.version)
