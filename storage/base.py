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

from .records import ChatLine, GameRecord, MoveRecord, PlayerRecord, TurnRecord


class StorageError(Exception):
    """Base class for storage failures."""


class StorageUnavailable(StorageError):
    """The backend could not be reached, or did not answer in time."""


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
        """Create the games row with `game.version`; raise WriteConflict if it exists."""

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
