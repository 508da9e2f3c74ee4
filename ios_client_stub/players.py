"""Bots that choose moves for the simulated phones.

Each bot takes a seeded ``random.Random`` so that a demo run can be replayed
with the same seed, as long as the server resolves the same turns.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

Cell = tuple[int, int]


class Decision(NamedTuple):
    """A move to submit and a short reason for the transcript."""

    move: dict[str, Any]
    reason: str


# Rock, paper, scissors

THROWS = ("rock", "paper", "scissors")

# The throw that beats each throw.
COUNTER_THROW = {"rock": "paper", "paper": "scissors", "scissors": "rock"}


class RpsPlayer:
    """Counters the rival's most frequent past throw, with some randomness.

    With no rival history, or with probability ``explore`` on any turn, the
    throw is uniformly random, so two bots countering each other do not tie
    forever. Ties between equally frequent rival throws are broken at random.
    """

    def __init__(self, player_id: str, rng: random.Random, explore: float = 0.3):
        if not 0.0 <= explore <= 1.0:
            raise ValueError(f"explore must be between 0 and 1, got {explore}")
        self.player_id = player_id
        self.rng = rng
        self.explore = explore

    def choose_move(self, turns: Iterable[dict[str, Any]]) -> Decision:
        """Choose a throw from the resolved turns of the game so far.

        ``turns`` are turn records as returned by ``list_turns``. Moves that
        are not valid throws, such as ``null`` for a missed turn, are ignored.
        """
        rival_throws = Counter(self._rival_throws(turns))
        if not rival_throws:
            throw = self.rng.choice(THROWS)
            return Decision({"throw": throw}, "no history yet, random")
        if self.rng.random() < self.explore:
            throw = self.rng.choice(THROWS)
            return Decision({"throw": throw}, "random, to stay unpredictable")

        top_count = max(rival_throws.values())
        favourites = sorted(t for t, n in rival_throws.items() if n == top_count)
        favourite = self.rng.choice(favourites)
        throw = COUNTER_THROW[favourite]
        total = sum(rival_throws.values())
        reason = f"rival threw {favourite} most often, {top_count} of {total}"
        return Decision({"throw": throw}, reason)

    def _rival_throws(self, turns: Iterable[dict[str, Any]]) -> Iterable[str]:
        for turn in turns:
            for player_id, move in (turn.get("moves") or {}).items():
                if player_id == self.player_id or not isinstance(move, dict):
                    continue
                throw = move.get("throw")
                if throw in THROWS:
                    yield throw


# Light cycles

# Unit steps. y grows downwards, so N is y - 1.
DIRECTIONS: dict[str, Cell] = {"N": (0, -1), "E": (1, 0), "S": (0, 1), "W": (-1, 0)}
OPPOSITE = {"N": "S", "S": "N", "E": "W", "W": "E"}


def step(cell: Cell, direction: str) -> Cell:
    dx, dy = DIRECTIONS[direction]
    return cell[0] + dx, cell[1] + dy


def in_bounds(cell: Cell, width: int, height: int) -> bool:
    return 0 <= cell[0] < width and 0 <= cell[1] < height


def reachable_area(width: int, height: int, blocked: set[Cell], start: Cell) -> int:
    """Count the free cells reachable from ``start`` by N, E, S, W steps.

    The count includes ``start``. A start outside the grid or in ``blocked``
    has an area of 0.
    """
    if not in_bounds(start, width, height) or start in blocked:
        return 0
    seen = {start}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        for direction in DIRECTIONS:
            neighbour = step(cell, direction)
            if (
                neighbour not in seen
                and neighbour not in blocked
                and in_bounds(neighbour, width, height)
            ):
                seen.add(neighbour)
                queue.append(neighbour)
    return len(seen)


@dataclass(frozen=True)
class DirectionOption:
    """One direction a cycle could take this turn, as the bot rates it.

    ``crashes`` is True when the move hits a wall or a trail, or reverses the
    cycle. ``contested`` is True when a living rival could enter the same cell
    this turn. ``area`` is the number of free cells reachable from the new
    cell, the cell included, and 0 for a crash.
    """

    direction: str
    cell: Cell
    crashes: bool
    contested: bool
    area: int


@dataclass(frozen=True)
class _Board:
    width: int
    height: int
    occupied: set[Cell]
    heads: dict[str, Cell]
    directions: dict[str, str | None]
    alive: dict[str, bool]


def _parse_board(state: dict[str, Any]) -> _Board:
    """Read the lightcycles state of a game view.

    The expected shape is ``{"width", "height", "cycles": {player id: {"x",
    "y", "dir", "alive"}}, "trails": [[x, y, player id], ...]}``, where the
    trails list every occupied cell, heads included.
    """
    width = int(state["width"])
    height = int(state["height"])
    occupied = {(int(x), int(y)) for x, y, *_ in state.get("trails", [])}
    heads: dict[str, Cell] = {}
    directions: dict[str, str | None] = {}
    alive: dict[str, bool] = {}
    for player_id, cycle in state["cycles"].items():
        heads[player_id] = (int(cycle["x"]), int(cycle["y"]))
        directions[player_id] = cycle.get("dir")
        alive[player_id] = bool(cycle.get("alive", True))
    # Heads are in the trails already. Adding them guards against a state
    # that lists only the cells behind the heads.
    occupied |= set(heads.values())
    return _Board(width, height, occupied, heads, directions, alive)


def _contested_cells(board: _Board, player_id: str) -> set[Cell]:
    """Return the free cells that a living rival could enter this turn."""
    cells: set[Cell] = set()
    for rival_id, head in board.heads.items():
        if rival_id == player_id or not board.alive[rival_id]:
            continue
        reverse = OPPOSITE.get(board.directions[rival_id] or "")
        for direction in DIRECTIONS:
            if direction == reverse:
                continue
            cell = step(head, direction)
            if (
                in_bounds(cell, board.width, board.height)
                and cell not in board.occupied
            ):
                cells.add(cell)
    return cells


def rate_directions(state: dict[str, Any], player_id: str) -> list[DirectionOption]:
    """Rate the four directions for ``player_id``'s cycle in a lightcycles state."""
    board = _parse_board(state)
    head = board.heads[player_id]
    reverse = OPPOSITE.get(board.directions[player_id] or "")
    contested = _contested_cells(board, player_id)

    options = []
    for direction in DIRECTIONS:
        cell = step(head, direction)
        crashes = (
            direction == reverse
            or not in_bounds(cell, board.width, board.height)
            or cell in board.occupied
        )
        area = (
            0
            if crashes
            else reachable_area(board.width, board.height, board.occupied, cell)
        )
        options.append(
            DirectionOption(direction, cell, crashes, cell in contested, area)
        )
    return options


class LightcyclesPlayer:
    """Steers away from crashes and towards the most open space.

    Among the directions that do not crash this turn, the bot avoids cells a
    rival could also enter, because entering the same cell crashes both. It
    takes a contested cell anyway when every uncontested one leads into a
    region less than half the size of the best contested one, since a sure
    crash a few turns later is worse than a possible collision now. Then it
    takes the direction with the largest reachable area, keeps going straight
    on a tie, and otherwise breaks the tie at random.
    """

    def __init__(self, player_id: str, rng: random.Random):
        self.player_id = player_id
        self.rng = rng

    def choose_move(self, state: dict[str, Any]) -> Decision:
        options = rate_directions(state, self.player_id)
        current = state["cycles"][self.player_id].get("dir")

        safe = [option for option in options if not option.crashes]
        if not safe:
            # Every direction crashes: keep going rather than send an invalid move.
            direction = current if current in DIRECTIONS else "N"
            return Decision({"dir": direction}, "no safe direction left")

        uncontested = [option for option in safe if not option.contested]
        best_area = max(option.area for option in safe)
        if uncontested and 2 * max(o.area for o in uncontested) >= best_area:
            pool = uncontested
        else:
            pool = safe

        top_area = max(option.area for option in pool)
        best = [option for option in pool if option.area == top_area]
        if any(option.direction == current for option in best):
            direction = current
        else:
            direction = self.rng.choice(sorted(option.direction for option in best))
        chosen = next(option for option in best if option.direction == direction)

        reason = f"{top_area} {'cell' if top_area == 1 else 'cells'} reachable"
        if chosen.contested:
            reason += ", risks a head-on collision"
        return Decision({"dir": direction}, reason)
