"""Light cycles for two to four players on a grid with walls.

State (client bots read this format, so it must not change)::

    {"width": 16, "height": 16,
     "cycles": {"<pid>": {"x": 0, "y": 7, "dir": "E", "alive": true}, ...},
     "trails": [[0, 7, "<pid>"], ...]}

x runs from 0 at the left to width - 1, y from 0 at the top to height - 1, N
is toward y - 1 and S toward y + 1. `trails` lists every occupied cell once,
current heads included, so it contains at most width * height entries.

Every riding cycle moves one cell per turn, all at once. A crashed cycle keeps
its last cell as `x` and `y`, takes the direction it tried as `dir`, and
leaves its trail on the grid.

Events of a resolved turn:

- `{"type": "crash", "player": "<pid>", "x": x, "y": y, "cause": c}` for each
  cycle that crashed, in seat order, where x and y name the cell the cycle
  tried to enter (outside the grid for a wall) and c is "wall", "trail" or
  "collision";
- `{"type": "game_over", "winner": "<pid>" | null}` when the game ends.
"""

from __future__ import annotations

from games.rules.base import JSON, InvalidMove, Resolution, Ruleset
from games.rules.common import (
    check_option_keys,
    describe_value,
    outcome_after_leave,
    read_int_option,
)

DIRECTIONS = ("N", "E", "S", "W")

# Each direction mapped to its (dx, dy) step.
STEPS = {"N": (0, -1), "E": (1, 0), "S": (0, 1), "W": (-1, 0)}

MIN_SIDE = 4
MAX_SIDE = 64
DEFAULT_SIDE = 16


class LightcyclesRuleset(Ruleset):
    """Cycles ride at once and leave walls behind them, and the last one riding wins."""

    name = "lightcycles"
    min_seats = 2
    max_seats = 4

    def check_options(self, options: dict[str, JSON]) -> dict[str, JSON]:
        check_option_keys(options, frozenset({"width", "height"}))
        return {
            key: read_int_option(
                options, key, default=DEFAULT_SIDE, minimum=MIN_SIDE, maximum=MAX_SIDE
            )
            for key in ("width", "height")
        }

    def initial_state(self, options: dict[str, JSON], player_ids: list[str]) -> JSON:
        self.check_seats(len(player_ids))
        width = options["width"]
        height = options["height"]
        starts = start_positions(width, height, len(player_ids))

        cycles = {}
        trails = []
        for pid, (x, y, direction) in zip(player_ids, starts, strict=True):
            cycles[pid] = {"x": x, "y": y, "dir": direction, "alive": True}
            trails.append([x, y, pid])
        return {"width": width, "height": height, "cycles": cycles, "trails": trails}

    def check_move(self, state: JSON, player_id: str, move: JSON) -> None:
        cycle = state["cycles"].get(player_id)
        if cycle is None:
            raise InvalidMove(f"Player {player_id} is not seated in this game.")
        if not cycle["alive"]:
            raise InvalidMove(
                f"The cycle of player {player_id} has crashed and takes no more moves."
            )

        if (
            not isinstance(move, dict)
            or set(move) != {"dir"}
            or move["dir"] not in DIRECTIONS
        ):
            raise InvalidMove(
                'A move must be {"dir": D} with D one of "N", "E", "S" or "W", '
                f"but got {describe_value(move)}.",
                {"field": "dir", "allowed": list(DIRECTIONS)},
            )

    def resolve(self, state: JSON, moves: dict[str, JSON], *, turn: int) -> Resolution:
        cycles = {pid: dict(cycle) for pid, cycle in state["cycles"].items()}

        # A player absent from `moves` has left, so the cycle stops where it is.
        for pid, cycle in cycles.items():
            if pid not in moves:
                cycle["alive"] = False
        riders = [pid for pid, cycle in cycles.items() if cycle["alive"]]
        if len(riders) < 2:
            return _end_after_leave(state, {**state, "cycles": cycles}, riders)

        targets = {pid: _target(cycles[pid], moves[pid]) for pid in riders}
        crashes = _find_crashes(state, cycles, targets)

        trails = [list(cell) for cell in state["trails"]]
        events = []
        for pid in riders:
            x, y, direction = targets[pid]
            cycle = cycles[pid]
            cycle["dir"] = direction
            if pid in crashes:
                cycle["alive"] = False
                events.append(
                    {
                        "type": "crash",
                        "player": pid,
                        "x": x,
                        "y": y,
                        "cause": crashes[pid],
                    }
                )
            else:
                cycle["x"] = x
                cycle["y"] = y
                trails.append([x, y, pid])

        new_state = {**state, "cycles": cycles, "trails": trails}
        crashed = [pid for pid in riders if pid in crashes]
        survivors = [pid for pid in riders if pid not in crashes]
        if len(survivors) >= 2:
            return Resolution(state=new_state, events=events, out=crashed)

        winner = survivors[0] if survivors else None
        events.append({"type": "game_over", "winner": winner})
        outcome = _outcome_after_crashes(list(cycles), winner, crashed)
        return Resolution(state=new_state, events=events, out=crashed, outcome=outcome)

    def decide_after_leave(self, state: JSON, active: list[str]) -> Resolution | None:
        cycles = {pid: dict(cycle) for pid, cycle in state["cycles"].items()}
        for pid, cycle in cycles.items():
            if pid not in active:
                cycle["alive"] = False
        if len(active) >= 2:
            return Resolution(state={**state, "cycles": cycles})
        return _end_after_leave(state, {**state, "cycles": cycles}, active)

    def missed_move_meaning(self) -> str:
        return "A missed move keeps the cycle riding in its current direction."


def start_positions(width: int, height: int, count: int) -> list[tuple[int, int, str]]:
    """Return the start cell and direction of `count` cycles, in seat order.

    Seats 0 and 1 start at the middle of the left and right sides, seats 2
    and 3 at the middle of the top and bottom sides, all facing inward. The
    layout looks the same from every seat after a half turn of the grid, and
    after a quarter turn too when the grid is square.
    """
    mid_x = (width - 1) // 2
    mid_y = (height - 1) // 2
    layout = [
        (0, mid_y, "E"),
        (width - 1, height - 1 - mid_y, "W"),
        (width - 1 - mid_x, 0, "S"),
        (mid_x, height - 1, "N"),
    ]
    return layout[:count]


def _target(cycle: JSON, move: JSON) -> tuple[int, int, str]:
    """Return the cell a cycle moves into and its direction.

    A missed move (None) keeps the current direction.
    """
    direction = cycle["dir"] if move is None else move["dir"]
    dx, dy = STEPS[direction]
    return cycle["x"] + dx, cycle["y"] + dy, direction


def _find_crashes(
    state: JSON, cycles: dict[str, JSON], targets: dict[str, tuple[int, int, str]]
) -> dict[str, str]:
    """Return the crash cause of every riding cycle that crashes this turn."""
    occupied = {(x, y) for x, y, _ in state["trails"]}
    heads = {pid: (cycles[pid]["x"], cycles[pid]["y"]) for pid in targets}
    cells = {pid: (x, y) for pid, (x, y, _) in targets.items()}
    entrants: dict[tuple[int, int], int] = {}
    for cell in cells.values():
        entrants[cell] = entrants.get(cell, 0) + 1

    crashes = {}
    for pid, (x, y) in cells.items():
        swapped = any(
            cells[other] == heads[pid] and (x, y) == heads[other]
            for other in cells
            if other != pid
        )
        if not (0 <= x < state["width"] and 0 <= y < state["height"]):
            crashes[pid] = "wall"
        elif swapped:
            # Two cycles that swap cells pass through each other head-on. Each
            # enters the other's head, a trail cell, but both crash together.
            crashes[pid] = "collision"
        elif (x, y) in occupied:
            crashes[pid] = "trail"
        elif entrants[(x, y)] > 1:
            crashes[pid] = "collision"
    return crashes


def _outcome_after_crashes(
    players: list[str], winner: str | None, crashed: list[str]
) -> dict[str, str]:
    """Return the outcome of the turn that leaves at most one cycle riding.

    The survivor, if any, wins. Without one, the cycles that crashed this turn
    draw because none outlasted the others. Every other player loses.
    """
    outcome = {}
    for pid in players:
        if pid == winner:
            outcome[pid] = "won"
        elif winner is None and pid in crashed:
            outcome[pid] = "draw"
        else:
            outcome[pid] = "lost"
    return outcome


def _end_after_leave(state: JSON, new_state: JSON, active: list[str]) -> Resolution:
    """End the game for the `active` riders left when the others have gone.

    With one rider left, that player wins. With none, a player whose cycle was
    still riding in `state` gets "draw" and a player whose cycle had crashed
    keeps "lost".
    """
    if active:
        outcome = outcome_after_leave(list(state["cycles"]), active)
    else:
        outcome = {
            pid: "draw" if cycle["alive"] else "lost"
            for pid, cycle in state["cycles"].items()
        }

    winner = active[0] if active else None
    event = {"type": "game_over", "winner": winner}
    return Resolution(state=new_state, events=[event], outcome=outcome)
