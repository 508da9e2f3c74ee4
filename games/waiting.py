"""Hold a read request until its game changes: the serving model of `?wait=S`.

Each gunicorn worker process has one `VersionWatcher`. A request that waits
registers the game and the version it has seen, then sleeps on a
`threading.Condition`. One watcher thread per process reads the versions of
only the games that requests of this process wait on, in one storage call
for all of them, every LOCKSTEP_WAIT_CHECK_INTERVAL seconds. It wakes the
waiters of each game whose version moved on. A commit made in the same
process wakes its waiters at once through `note_commit`, so the check
interval only delays changes committed by other processes or hosts.

A waiting request holds a gunicorn thread. At most LOCKSTEP_MAX_WAITING
requests of a process wait at once, so the other threads stay free for
moves and reads. A request beyond that bound is answered at once, as if
its wait had passed, and counted in lockstep_waits_not_held_total.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from gameserver import metrics
from storage import GameRecord, StorageError, get_storage

logger = logging.getLogger(__name__)

# Seconds between log lines about a failing version check, so that a storage
# outage does not write one line per check interval.
ERROR_LOG_INTERVAL = 30.0


@dataclass
class _WatchedGame:
    """The newest version the watcher has seen of a game, and its waiting requests."""

    version: int
    changed: threading.Condition
    waiters: int = 0


@dataclass
class VersionWatcher:
    """Waits for new versions of games, checking storage from one thread.

    `read_versions` takes game ids and returns {game_id: version} for the
    games that exist. `max_waiting` bounds the waits in progress at once.
    """

    read_versions: Callable[[list[str]], dict[str, int]]
    check_interval: float
    max_waiting: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _games: dict[str, _WatchedGame] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _waiting: int = 0
    _last_error_log: float = float("-inf")

    def wait(self, game_id: str, version: int, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for a version of the game above `version`.

        Return the newer version as soon as the watcher learns of it, or
        None when the time passed without one, or at once when
        `max_waiting` waits are already in progress.
        """
        with self._lock:
            if self._waiting >= self.max_waiting:
                metrics.WAITS_NOT_HELD.inc()
                return None
            self._waiting += 1
            watched = self._games.get(game_id)
            if watched is None:
                watched = _WatchedGame(version, threading.Condition(self._lock))
                self._games[game_id] = watched
            else:
                # The caller read `version`, so it is committed.
                self._advance(game_id, version)
            watched.waiters += 1
            self._start_thread()
            metrics.WAITING_REQUESTS.inc()
            try:
                deadline = time.monotonic() + timeout
                while watched.version <= version:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    watched.changed.wait(remaining)
                return watched.version
            finally:
                metrics.WAITING_REQUESTS.dec()
                self._waiting -= 1
                watched.waiters -= 1
                if watched.waiters == 0:
                    del self._games[game_id]

    def note_commit(self, game_id: str, version: int) -> None:
        """Wake this process's waiters of a game that this process just committed."""
        with self._lock:
            self._advance(game_id, version)

    def _advance(self, game_id: str, version: int) -> None:
        watched = self._games.get(game_id)
        if watched is not None and version > watched.version:
            watched.version = version
            watched.changed.notify_all()

    def _start_thread(self) -> None:
        # Called with self._lock held. The thread ends when no request waits,
        # and clears self._thread under the same lock, so exactly one runs
        # while there are waiters.
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._check_loop, name="lockstep-version-watcher", daemon=True
            )
            self._thread.start()

    def _check_loop(self) -> None:
        while True:
            with self._lock:
                game_ids = list(self._games)
                if not game_ids:
                    self._thread = None
                    return
            try:
                versions = self.read_versions(game_ids)
            except StorageError as exc:
                self._log_check_failure(len(game_ids), exc)
                versions = {}
            with self._lock:
                for game_id, version in versions.items():
                    self._advance(game_id, version)
            time.sleep(self.check_interval)

    def _log_check_failure(self, count: int, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_error_log < ERROR_LOG_INTERVAL:
            return
        self._last_error_log = now
        logger.error(
            "Reading the versions of %s waited-on games failed (%s); waiting "
            "requests are answered when their time passes, and the check is "
            "retried every %s s",
            count,
            exc,
            self.check_interval,
        )


_guard = threading.Lock()
_watcher: VersionWatcher | None = None
_watcher_pid: int | None = None


def get_watcher() -> VersionWatcher:
    """Return this process's watcher, creating it after a fork."""
    global _watcher, _watcher_pid
    with _guard:
        if _watcher is None or _watcher_pid != os.getpid():
            _watcher = VersionWatcher(
                read_versions=lambda ids: get_storage().get_game_versions(ids),
                check_interval=settings.LOCKSTEP_WAIT_CHECK_INTERVAL,
                max_waiting=settings.LOCKSTEP_MAX_WAITING,
            )
            _watcher_pid = os.getpid()
        return _watcher


def note_commit(game_id: str, version: int) -> None:
    """Wake the waiters of this process after a commit of the game."""
    watcher = _watcher
    if watcher is not None and _watcher_pid == os.getpid():
        watcher.note_commit(game_id, version)


def wait_for_change(
    game: GameRecord,
    unchanged: Callable[[GameRecord], bool],
    seconds: float,
    load: Callable[[str], GameRecord],
) -> GameRecord:
    """Return the game once `unchanged(game)` is False or `seconds` passed.

    A new version that leaves `unchanged` True (a move, when the caller
    waits for chat lines) is read and waited past, within the same time.
    """
    deadline = time.monotonic() + seconds
    watcher = get_watcher()
    while unchanged(game):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if watcher.wait(game.id, game.version, remaining) is None:
            break
        game = load(game.id)
    return game
