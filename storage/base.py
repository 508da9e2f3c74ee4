"""The storage interface that every backend implements.

Backends store records and answer range queries. They hold no game logic,
but they do keep the commit protocol that makes a change all or nothing:

- The games row is the commit point. `insert_game` and `update_game` are
  conditional writes (on Cassandra a lightweight transaction, on SQLite a
  `WHERE version = ?` update), and no backend writes that row any other way.
- A move row is keyed by its own random `write_id`, and the committed
  games row names the current one per player, so a write that loses its
  lock leaves only an unreferenced row behind.
- A resolved turn and a chat line travel inside the commit
  (`GameRecord.last_turn`, `last_chat`). Their rows are written after the
  commit from committed content, and written again by the next writer
  before it replaces them. Readers bound every range by the committed
  games row and take the newest turn or line from it when its row is not
  written yet. No row ever holds content that no commit made.

Every method may raise `StorageUnavailable` when the backend cannot be
reached or does not answer in time. Writes other than the games row are
idempotent upserts, so a caller may repeat one after an unknown outcome.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Future

from .records import (
    ChatLine,
    DueEntry,
    GameRecord,
    MoveRecord,
    PlayerRecord,
    TurnRecord,
)


class StorageError(Exception):
    """Base class for storage failures."""


class StorageUnavailable(StorageError):
    """The backend could not be reached, or did not respond in time.

    `outcome_unknown` is True when a write on the games row failed in a way
    that leaves open whether it applied: it may be visible now or become
    visible later. Otherwise nothing of the failed operation was written.
    """

    def __init__(self, message: str, outcome_unknown: bool = False):
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class WriteConflict(StorageError):
    """A conditional write on the games row found another version.

    Raised by `update_game` when the stored version differs from the one the
    caller read (its lock was lost and someone else committed), and by
    `insert_game` when the id exists. Nothing of the rejected write is
    visible.
    """


class Storage(ABC):
    """A place to keep players, games, moves, turns and chat lines.

    Implementations must be safe to call from several threads of one
    process. Each gunicorn worker process creates its own instance.
    """

    # -- lifecycle -------------------------------------------------------

    @abstractmethod
    def ping(self) -> None:
        """Run a trivial query; raise StorageUnavailable if it fails."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to close by default
        """Release connections held by this instance."""

    # -- players ---------------------------------------------------------

    @abstractmethod
    def insert_player(self, player: PlayerRecord) -> None:
        """Store a new player, findable by id and by `token_hash`."""

    @abstractmethod
    def get_player(self, player_id: str) -> PlayerRecord | None:
        """Return the player, or None when there is none with that id."""

    @abstractmethod
    def get_player_by_token_hash(self, token_hash: str) -> PlayerRecord | None:
        """Return the player whose token hashes to `token_hash`, or None."""

    # -- games -----------------------------------------------------------

    @abstractmethod
    def insert_game(self, game: GameRecord) -> None:
        """Create the games row with `game.version`.

        Raise WriteConflict if a game with that id exists.
        """

    @abstractmethod
    def get_game(self, game_id: str) -> GameRecord | None:
        """Return the last committed state of the game, or None."""

    @abstractmethod
    def update_game(self, game: GameRecord, expected_version: int) -> None:
        """Commit `game` if the stored version is still `expected_version`.

        This is the fencing write. On a version mismatch raise WriteConflict
        and change nothing. `game.version` must be greater than
        `expected_version`.
        """

    @abstractmethod
    def add_player_game(self, player_id: str, game_id: str) -> None:
        """Index `game_id` under the player, for listing the player's games."""

    @abstractmethod
    def list_player_game_ids(self, player_id: str) -> list[str]:
        """Return the ids indexed under the player, in no particular order.

        The index may name games the player is not seated in (an abandoned
        join); callers check membership on the committed games row.
        """

    @abstractmethod
    def add_open_game(self, ruleset: str, game_id: str) -> None:
        """Index a game as waiting for players."""

    @abstractmethod
    def remove_open_game(self, ruleset: str, game_id: str) -> None:
        """Drop a game from the waiting index; a no-op when it is absent."""

    @abstractmethod
    def list_open_game_ids(self, ruleset: str, limit: int) -> list[str]:
        """Return up to `limit` ids from the waiting index, oldest first.

        Entries may be stale; callers check the committed games row.
        """

    # -- matchmaking queue -----------------------------------------------

    @abstractmethod
    def add_match_game(self, match_key: str, game_id: str, created_at) -> None:
        """Queue a waiting game under `match_key`, ordered by `created_at`.

        `match_key` names a ruleset, seat count and options. `created_at` is
        the game's creation time, which `remove_match_game` repeats. Adding
        an entry again keeps its place.
        """

    @abstractmethod
    def remove_match_game(self, match_key: str, game_id: str, created_at) -> None:
        """Drop a game from the queue of `match_key`; a no-op when it is absent."""

    @abstractmethod
    def list_match_game_ids(self, match_key: str, limit: int) -> list[str]:
        """Return up to `limit` game ids queued under `match_key`, oldest first.

        Entries may be stale; callers check the committed games row.
        """

    # -- due index ---------------------------------------------------------

    @abstractmethod
    def add_due(self, game_id: str, due_at) -> None:
        """Record that the game has a turn deadline at `due_at` (an aware datetime).

        Written before the commit that sets the deadline, so an entry may
        name a deadline that was never committed or has since moved. The
        worker checks the committed games row. Adding an entry again is
        harmless.
        """

    @abstractmethod
    def list_due(self, until, limit: int) -> list[DueEntry]:
        """Return up to `limit` entries due at or before `until`, oldest first.

        The cost depends on the entries returned and on the time since the
        oldest entry not yet removed, never on the number of games. A backend
        may read a bounded time range per call. It then returns fewer entries
        than are due while the oldest is far behind `until`, and later calls
        return the rest once the earlier entries are removed. A backend
        may keep a position from which it scans and move it past time ranges
        that hold no entry. Such a backend must still list an entry added
        behind that position, except when the add races a `list_due` that
        moves the position past the entry's time at that moment. Callers add
        entries well before they are due, so the race needs a clock skew
        between hosts larger than the backend's margin.
        """

    @abstractmethod
    def remove_due(self, game_id: str, due_at) -> None:
        """Remove the entry (game_id, due_at); a no-op when it is absent."""

    # -- moves -----------------------------------------------------------

    @abstractmethod
    def put_move(self, move: MoveRecord) -> None:
        """Store a move under (game, turn, player, write_id)."""

    @abstractmethod
    def get_move(
        self, game_id: str, turn: int, player_id: str, write_id: str
    ) -> MoveRecord | None:
        """Return the move stored under exactly these keys, or None."""

    # -- resolved turns --------------------------------------------------

    @abstractmethod
    def put_turn(self, turn: TurnRecord) -> None:
        """Store a committed resolved turn; writing the same turn again is harmless."""

    @abstractmethod
    def get_turn(self, game_id: str, number: int) -> TurnRecord | None:
        """Return the turn with that number, or None."""

    @abstractmethod
    def list_turns(
        self, game_id: str, first: int, last: int, limit: int
    ) -> list[TurnRecord]:
        """Return up to `limit` turns numbered `first` to `last`, ascending."""

    # -- chat ------------------------------------------------------------

    @abstractmethod
    def put_chat_line(self, line: ChatLine) -> None:
        """Store a committed chat line; writing the same line again is harmless."""

    def put_chat_lines(self, lines: list[ChatLine]) -> None:
        """Store many committed chat lines, as `put_chat_line` does for each.

        For importing or seeding history in bulk, outside any game's lock and
        commit. Backends may group the writes, and a failure may leave some
        lines written: writing them all again is harmless.
        """
        for line in lines:
            self.put_chat_line(line)

    @abstractmethod
    def get_chat_line(self, game_id: str, seq: int) -> ChatLine | None:
        """Return the line with that seq, or None."""

    @abstractmethod
    def list_chat(
        self, game_id: str, first: int, last: int, limit: int, newest_first: bool
    ) -> list[ChatLine]:
        """Return up to `limit` lines with seq from `first` to `last`.

        With `newest_first` the lines nearest `last` are returned, in
        descending order; otherwise those nearest `first`, ascending. The
        cost must not grow with the number of lines in the chat.
        """

    @abstractmethod
    def put_chat_client_id(
        self, game_id: str, player_id: str, client_id: str, seq: int
    ) -> None:
        """Remember that the player's post with `client_id` got `seq`."""

    @abstractmethod
    def get_chat_client_id(
        self, game_id: str, player_id: str, client_id: str
    ) -> int | None:
        """Return the seq remembered for the player's `client_id`, or None.

        The entry may come from an abandoned post: callers check that the
        committed line at that seq carries the same player and client_id.
        """

    # -- rate limits -----------------------------------------------------

    @abstractmethod
    def hit_rate_limit(
        self, key: str, window_start: int, window_seconds: int, limit: int
    ) -> int | None:
        """Count one request against `key` in the fixed window `window_start`.

        `window_start` is a Unix time in whole seconds, a multiple of
        `window_seconds` chosen by the caller. Return the number of requests
        counted in that window including this one, or None, counting
        nothing, when `limit` requests are counted already. The check and
        the increment are one atomic step across every process and host
        that shares the backend, so concurrent callers never pass more than
        `limit` per window. A backend may also return None when it cannot
        settle a heavily contended counter within a bounded number of
        tries. A count never carries over into a later window.
        """

    def hit_rate_limit_async(
        self, key: str, window_start: int, window_seconds: int, limit: int
    ) -> Future[int | None]:
        """Start `hit_rate_limit` and return a future of its result.

        The caller can do other work, such as taking a game's lock, while a
        backend with network round trips counts the request. This default
        counts at once and returns a finished future.
        """
        future: Future[int | None] = Future()
        try:
            future.set_result(
                self.hit_rate_limit(key, window_start, window_seconds, limit)
            )
        except Exception as exc:  # future.result() raises it for the caller
            future.set_exception(exc)
        return future

    # -- waiting for changes ---------------------------------------------

    def get_game_versions(self, game_ids: list[str]) -> dict[str, int]:
        """Return the committed version of each game in `game_ids` that exists.

        Requests that wait for a change call this every fraction of a
        second, so backends override this default, which reads whole games,
        with a read of the version alone.
        """
        versions = {}
        for game_id in game_ids:
            game = self.get_game(game_id)
            if game is not None:
                versions[game_id] = game.version
        return versions

    # -- webhook outbox --------------------------------------------------

    @abstractmethod
    def add_outbox_game(self, game_id: str, version: int) -> None:
        """Mark the game as having webhook events to deliver, up to `version`.

        Services write the mark before the commit that adds the events, so
        a mark may also come from a commit that was rejected. That is
        harmless, because the dispatcher reads the events from the committed
        games row. A mark survives every `remove_outbox_game` with a lower
        version, in whichever order the two writes reach the backend.
        """

    @abstractmethod
    def remove_outbox_game(self, game_id: str, version: int) -> None:
        """Drop the game's mark unless it was added with a version above `version`.

        On some backends, a mark with a version up to `version` that arrives
        after the removal survives it. The dispatcher then finds only events
        that are already done, and removes the mark again.
        """

    @abstractmethod
    def list_outbox_game_ids(self, limit: int) -> list[str]:
        """Return up to `limit` marked game ids, in no particular order."""

    @abstractmethod
    def get_outbox_cursor(self, game_id: str) -> int:
        """Return the version up to which the game's events are done, or 0.

        An event is done once it was delivered or given up.
        """

    @abstractmethod
    def set_outbox_cursor(self, game_id: str, version: int) -> None:
        """Raise the game's cursor to `version`; a lower value changes nothing.

        Two dispatchers may write the cursor of one game at once, so the
        backend keeps the higher value whatever order the writes arrive in.
        """
