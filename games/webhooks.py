"""The webhook dispatcher: POST each game's committed outbox events, in order.

`deliver_webhooks` is a worker task (LOCKSTEP_WORKER_TASKS, run by
`manage.py run_worker`). Each round it lists the games marked in the
outbox index, reads each game's committed games row and outbox cursor, and
POSTs the events above the cursor in version order:

- every body is signed with HMAC-SHA256 under LOCKSTEP_WEBHOOK_SECRET and
  sent with `X-Lockstep-Signature: sha256=<hex>`;
- a 2xx response delivers the event. Anything else (another status, a
  timeout, a refused connection) is retried later with the same event id,
  after a backoff that doubles from LOCKSTEP_WEBHOOK_BACKOFF up to
  LOCKSTEP_WEBHOOK_MAX_BACKOFF seconds, with jitter;
- an event older than LOCKSTEP_WEBHOOK_MAX_AGE seconds is given up with an
  error log line instead of being sent;
- a game's next event waits until the one before it is delivered or given
  up, so each game's events arrive in version order. Different games are
  delivered in parallel, by up to LOCKSTEP_WEBHOOK_CONCURRENCY threads.

Delivery is at least once: the cursor moves only after the answer, so a
worker that stops between the two sends the event again. Two workers never
deliver the same game at once, because each takes the lock
`webhook/<game id>` (not the game's own lock, which moves would wait on)
before it delivers a game's events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.conf import settings

from gameserver import clock, metrics
from locking import LockError, get_lock_backend
from storage import StorageError, get_storage

logger = logging.getLogger(__name__)

# Games read from the outbox index per round.
# NOTE: the index returns the same games first every round, so while more
# than this many games wait out a backoff, the games beyond them wait too.
GAMES_PER_ROUND = 500
# Seconds that a mark naming a game that does not exist is kept. The mark is
# written before a new game's insert, so a young one may belong to an insert
# still in progress.
MISSING_GAME_GRACE = 60.0
SIGNATURE_HEADER = "X-Lockstep-Signature"
USER_AGENT = "lockstep-webhooks/1"


def sign(body: bytes, secret: str) -> str:
    """Return the X-Lockstep-Signature value of `body`: sha256=<hex HMAC>."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def event_body(event: dict) -> bytes:
    """Return the JSON body sent for an outbox event."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Backoff:
    """Delays between delivery attempts: doubling from `base` up to `cap`, jittered.

    The n-th retry waits a random time between half and all of
    min(cap, base * 2 ** (n - 1)) seconds, so that many games that failed
    together do not all retry at the same moment.
    """

    base: float
    cap: float
    random: Callable[[], float] = random.random

    def delay(self, failures: int) -> float:
        ceiling = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return ceiling / 2 + self.random() * ceiling / 2


@dataclass
class _RetryState:
    failures: int = 0
    next_attempt: float = 0.0
    # Ids of events delivered at a version whose other events are not yet
    # delivered, so that a retry sends only the missing ones.
    delivered_ids: set[str] = field(default_factory=set)


class Dispatcher:
    """Delivers outbox events to one URL; keeps the retry state of each game.

    `post(url, body, headers, timeout)` sends one request and returns its
    status code, raising requests' exceptions on transport failures.
    `now` is the server clock (event ages) and `monotonic` the retry clock,
    both injectable for tests.
    """

    def __init__(
        self,
        url: str,
        secret: str,
        max_age: float,
        timeout: float,
        backoff: Backoff,
        concurrency: int = 8,
        post: Callable[..., int] | None = None,
        now: Callable[[], datetime] = clock.now,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.url = url
        self.secret = secret
        self.max_age = max_age
        self.timeout = timeout
        self.backoff = backoff
        self.concurrency = concurrency
        self.post = post or self._post_with_session
        self.now = now
        self.monotonic = monotonic
        self._retry: dict[str, _RetryState] = {}
        self._missing_since: dict[str, float] = {}
        self._state_lock = threading.Lock()
        self._local = threading.local()

    # -- one round -------------------------------------------------------

    def run_once(self) -> int:
        """Deliver or give up what is due; return how many events that was."""
        game_ids = get_storage().list_outbox_game_ids(GAMES_PER_ROUND)
        now = self.monotonic()
        with self._state_lock:
            if len(game_ids) < GAMES_PER_ROUND:
                # The listing is complete, so a game missing from it has no
                # mark left: another worker finished it.
                listed = set(game_ids)
                for game_id in [g for g in self._retry if g not in listed]:
                    del self._retry[game_id]
            due = [
                game_id
                for game_id in game_ids
                if self._retry.get(game_id, _RetryState()).next_attempt <= now
            ]
        if not due:
            return 0
        if len(due) == 1 or self.concurrency == 1:
            return sum(self._deliver_game_claimed(game_id) for game_id in due)
        with ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(due)),
            thread_name_prefix="lockstep-webhook",
        ) as pool:
            return sum(pool.map(self._deliver_game_claimed, due))

    def _deliver_game_claimed(self, game_id: str) -> int:
        try:
            lock = get_lock_backend().lock(f"webhook/{game_id}")
            if not lock.acquire(0):
                # Another worker delivers this game's events right now.
                return 0
        except LockError as exc:
            logger.error("Could not take the webhook lock of game %s: %s", game_id, exc)
            return 0
        try:
            return self.deliver_game(game_id)
        except StorageError as exc:
            logger.error(
                "Delivering the webhook events of game %s failed on storage: %s; "
                "retrying next round",
                game_id,
                exc,
            )
            return 0
        finally:
            lock.release()

    # -- one game --------------------------------------------------------

    def deliver_game(self, game_id: str) -> int:
        """Send the game's events above its cursor, in order, until one fails.

        Return the number of events delivered or given up. The caller holds
        the game's webhook lock.
        """
        storage = get_storage()
        game = storage.get_game(game_id)
        if game is None:
            self._forget_missing(game_id)
            return 0
        self._missing_since.pop(game_id, None)

        done = storage.get_outbox_cursor(game_id)
        pending = [event for event in game.outbox if event["version"] > done]
        state = self._retry_state(game_id)
        handled = 0
        for index, event in enumerate(pending):
            if event["id"] not in state.delivered_ids:
                if self._too_old(event):
                    self._give_up(event)
                elif self._send(event, state):
                    metrics.WEBHOOK_DELIVERIES.labels(type=event["type"]).inc()
                else:
                    return handled
                handled += 1
                state.delivered_ids.add(event["id"])
            is_last_of_version = (
                index + 1 == len(pending)
                or pending[index + 1]["version"] != event["version"]
            )
            if is_last_of_version:
                storage.set_outbox_cursor(game_id, event["version"])
                state.delivered_ids.clear()

        # Every committed event up to this version is done. A mark added for
        # a later commit has a higher version and survives the removal.
        storage.remove_outbox_game(game_id, game.version)
        with self._state_lock:
            self._retry.pop(game_id, None)
        return handled

    def _send(self, event: dict, state: _RetryState) -> bool:
        body = event_body(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(body, self.secret),
        }
        try:
            status = self.post(self.url, body, headers, self.timeout)
        except requests.Timeout as exc:
            return self._failed(event, state, "timeout", repr(exc))
        except requests.RequestException as exc:
            return self._failed(event, state, "connection", repr(exc))
        if 200 <= status < 300:
            if state.failures:
                logger.info(
                    "Delivered webhook event %s (%s) of game %s version %s after "
                    "%s failed attempts",
                    event["id"],
                    event["type"],
                    event["game"],
                    event["version"],
                    state.failures,
                )
            state.failures = 0
            return True
        return self._failed(event, state, "status", f"HTTP status {status}")

    def _failed(self, event: dict, state: _RetryState, reason: str, detail: str):
        metrics.WEBHOOK_FAILURES.labels(reason=reason).inc()
        state.failures += 1
        delay = self.backoff.delay(state.failures)
        state.next_attempt = self.monotonic() + delay
        logger.debug(
            "Webhook event %s (%s) of game %s version %s failed (%s), attempt %s; "
            "retrying in %.2f s",
            event["id"],
            event["type"],
            event["game"],
            event["version"],
            detail,
            state.failures,
            delay,
        )
        return False

    def _too_old(self, event: dict) -> bool:
        sent_at = datetime.fromisoformat(event["at"].replace("Z", "+00:00"))
        return (self.now() - sent_at).total_seconds() > self.max_age

    def _give_up(self, event: dict) -> None:
        metrics.WEBHOOK_DROPPED.labels(reason="max_age").inc()
        logger.error(
            "Gave up webhook event %s (%s) of game %s version %s: not delivered "
            "within LOCKSTEP_WEBHOOK_MAX_AGE (%s s) of %s",
            event["id"],
            event["type"],
            event["game"],
            event["version"],
            self.max_age,
            event["at"],
        )

    def _retry_state(self, game_id: str) -> _RetryState:
        with self._state_lock:
            return self._retry.setdefault(game_id, _RetryState())

    def _forget_missing(self, game_id: str) -> None:
        first_seen = self._missing_since.setdefault(game_id, self.monotonic())
        if self.monotonic() - first_seen < MISSING_GAME_GRACE:
            return
        # An insert writes version 1, so a removal at version 1 drops the
        # mark of a game that was never created and nothing else.
        get_storage().remove_outbox_game(game_id, 1)
        self._missing_since.pop(game_id, None)
        logger.warning(
            "Removed the webhook mark of game %s, which does not exist", game_id
        )

    def _post_with_session(
        self, url: str, body: bytes, headers: dict, timeout: float
    ) -> int:
        # One HTTP session per delivery thread, so connections are reused.
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        # stream=True: only the status line and headers are read, so a
        # receiver that trickles a long body cannot hold the thread.
        response = session.post(
            url, data=body, headers=headers, timeout=timeout, stream=True
        )
        response.close()
        return response.status_code


_dispatcher: Dispatcher | None = None
_dispatcher_guard = threading.Lock()


def get_dispatcher() -> Dispatcher:
    """Return this process's dispatcher, built from the settings on first use."""
    global _dispatcher
    with _dispatcher_guard:
        if _dispatcher is None:
            _dispatcher = Dispatcher(
                url=settings.LOCKSTEP_WEBHOOK_URL,
                secret=settings.LOCKSTEP_WEBHOOK_SECRET,
                max_age=settings.LOCKSTEP_WEBHOOK_MAX_AGE,
                timeout=settings.LOCKSTEP_WEBHOOK_TIMEOUT,
                backoff=Backoff(
                    base=settings.LOCKSTEP_WEBHOOK_BACKOFF,
                    cap=settings.LOCKSTEP_WEBHOOK_MAX_BACKOFF,
                ),
                concurrency=settings.LOCKSTEP_WEBHOOK_CONCURRENCY,
            )
        return _dispatcher


def deliver_webhooks() -> int:
    """Worker task: deliver due webhook events; return how many were handled.

    Does nothing while LOCKSTEP_WEBHOOK_URL is unset.
    """
    if not settings.LOCKSTEP_WEBHOOK_URL:
        return 0
    return get_dispatcher().run_once()
