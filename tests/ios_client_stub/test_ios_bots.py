import random

import pytest

from ios_client_stub.players import (
    DIRECTIONS,
    OPPOSITE,
    LightcyclesPlayer,
    RpsPlayer,
    rate_directions,
    reachable_area,
    step,
)

ME = "p-me"
RIVAL = "p-rival"


def lightcycles_state(width, height, cycles, trails=()):
    """Build a lightcycles state; each cycle's head is added to the trails."""
    all_trails = [list(cell) for cell in trails]
    for player_id, cycle in cycles.items():
        all_trails.append([cycle["x"], cycle["y"], player_id])
    return {"width": width, "height": height, "cycles": cycles, "trails": all_trails}


def cycle(x, y, direction, alive=True):
    return {"x": x, "y": y, "dir": direction, "alive": alive}


def chosen_direction(state, seed=0):
    return LightcyclesPlayer(ME, random.Random(seed)).choose_move(state).move["dir"]


# Flood fill


def test_reachable_area_empty_grid():
    assert reachable_area(4, 3, set(), (0, 0)) == 12


def test_reachable_area_counts_only_own_region():
    # A vertical wall at x = 2 splits a 5x3 grid into 2 + 2 columns.
    wall = {(2, 0), (2, 1), (2, 2)}

    assert reachable_area(5, 3, wall, (0, 1)) == 6
    assert reachable_area(5, 3, wall, (4, 1)) == 6


def test_reachable_area_no_diagonal_steps():
    blocked = {(1, 0), (0, 1)}

    assert reachable_area(3, 3, blocked, (0, 0)) == 1


def test_reachable_area_blocked_or_outside_start():
    assert reachable_area(3, 3, {(1, 1)}, (1, 1)) == 0
    assert reachable_area(3, 3, set(), (3, 0)) == 0
    assert reachable_area(3, 3, set(), (0, -1)) == 0


# Direction rating


def test_step_north_decreases_y():
    assert step((5, 5), "N") == (5, 4)
    assert step((5, 5), "S") == (5, 6)
    assert step((5, 5), "E") == (6, 5)
    assert step((5, 5), "W") == (4, 5)


def test_rate_directions_walls_trails_and_reverse():
    # Heading E in the top-left corner, with its own trail at (0, 0) behind.
    state = lightcycles_state(5, 5, {ME: cycle(1, 0, "E")}, trails=[[0, 0, ME]])

    options = {option.direction: option for option in rate_directions(state, ME)}

    assert options["N"].crashes  # wall
    assert options["W"].crashes  # reverse, into its own trail
    assert not options["E"].crashes
    assert not options["S"].crashes
    assert options["E"].area == 23
    assert options["W"].area == 0


def test_rate_directions_marks_rival_reachable_cells():
    # The rival at (3, 1) heading W could enter (2, 1), our cell to the E.
    state = lightcycles_state(6, 3, {ME: cycle(1, 1, "E"), RIVAL: cycle(3, 1, "W")})

    options = {option.direction: option for option in rate_directions(state, ME)}

    assert options["E"].contested
    assert not options["N"].contested
    assert not options["S"].contested


def test_rate_directions_ignores_crashed_rival():
    state = lightcycles_state(
        6, 3, {ME: cycle(1, 1, "E"), RIVAL: cycle(3, 1, "W", alive=False)}
    )

    options = {option.direction: option for option in rate_directions(state, ME)}

    assert not options["E"].contested


# Light cycles bot


def test_bot_avoids_wall_ahead():
    state = lightcycles_state(5, 5, {ME: cycle(4, 2, "E")}, trails=[[3, 2, ME]])

    assert chosen_direction(state) in {"N", "S"}


def test_bot_takes_only_safe_direction():
    # Heading N at (2, 2): the wall of trails leaves only W open.
    trails = [[2, 3, ME], [2, 1, RIVAL], [3, 2, RIVAL]]
    state = lightcycles_state(
        5, 5, {ME: cycle(2, 2, "N"), RIVAL: cycle(4, 4, "N")}, trails=trails
    )

    for seed in range(20):
        assert chosen_direction(state, seed) == "W"


def test_bot_prefers_larger_region():
    # Heading N at x = 2 in a 7x7 grid. A wall at x = 1 leaves the west a
    # single column, while the east has four columns.
    wall = [[1, y, RIVAL] for y in range(7)]
    trails = wall + [[2, 4, ME], [2, 5, ME], [2, 6, ME], [2, 2, RIVAL]]
    state = lightcycles_state(7, 7, {ME: cycle(2, 3, "N")}, trails=trails)

    assert chosen_direction(state) == "E"


def test_bot_keeps_straight_on_tie():
    state = lightcycles_state(9, 9, {ME: cycle(4, 4, "N")}, trails=[[4, 5, ME]])

    for seed in range(20):
        assert chosen_direction(state, seed) == "N"


def test_bot_avoids_contested_cell():
    # Both heads face each other across (4, 4). N and S are equally open.
    state = lightcycles_state(
        9,
        9,
        {ME: cycle(3, 4, "E"), RIVAL: cycle(5, 4, "W")},
        trails=[[2, 4, ME], [6, 4, RIVAL]],
    )

    for seed in range(20):
        assert chosen_direction(state, seed) != "E"


def test_bot_takes_contested_cell_over_dead_end():
    # Heading N at (1, 3). W leads into a one-cell pocket at (0, 3). N leads
    # to the open top rows, but the rival at (2, 2) could also enter (1, 2).
    trails = [[0, 2, RIVAL], [0, 4, ME], [1, 4, ME], [2, 3, RIVAL], [3, 3, RIVAL]]
    state = lightcycles_state(
        6, 5, {ME: cycle(1, 3, "N"), RIVAL: cycle(2, 2, "N")}, trails=trails
    )
    options = {option.direction: option for option in rate_directions(state, ME)}
    assert options["W"].area == 1
    assert options["N"].contested

    assert chosen_direction(state) == "N"


def test_bot_when_every_direction_crashes():
    trails = [[0, 1, ME], [1, 0, RIVAL]]
    state = lightcycles_state(3, 3, {ME: cycle(0, 0, "N")}, trails=trails)

    decision = LightcyclesPlayer(ME, random.Random(0)).choose_move(state)

    assert decision.move == {"dir": "N"}
    assert decision.reason == "no safe direction left"


def random_board(rng):
    width = rng.randint(3, 12)
    height = rng.randint(3, 12)
    cells = [(x, y) for x in range(width) for y in range(height)]
    rng.shuffle(cells)
    me_cell, rival_cell = cells[0], cells[1]
    trail_count = rng.randint(0, len(cells) - 2)
    trails = [[x, y, rng.choice([ME, RIVAL])] for x, y in cells[2 : 2 + trail_count]]
    cycles = {
        ME: cycle(*me_cell, rng.choice("NESW")),
        RIVAL: cycle(*rival_cell, rng.choice("NESW"), alive=rng.random() < 0.8),
    }
    return lightcycles_state(width, height, cycles, trails)


def test_bot_never_crashes_when_safe_exists():
    rng = random.Random(2024)
    for board_number in range(2000):
        state = random_board(rng)
        options = rate_directions(state, ME)
        safe = {option.direction for option in options if not option.crashes}

        direction = chosen_direction(state, seed=board_number)

        if safe:
            assert direction in safe, (board_number, state)


def enters_free_cell(state, direction):
    """Check a move against the rules: no wall, no trail cell, no reversal.

    Reversing counts as a crash because in a game the cell behind a head is
    its own trail.
    """
    me = state["cycles"][ME]
    if direction == OPPOSITE[me["dir"]]:
        return False
    x, y = step((me["x"], me["y"]), direction)
    inside = 0 <= x < state["width"] and 0 <= y < state["height"]
    occupied = {(cx, cy) for cx, cy, _ in state["trails"]}
    return inside and (x, y) not in occupied


def test_bot_choice_never_hits_wall_or_trail():
    # Checks the bot against the rules directly rather than rate_directions.
    rng = random.Random(99)
    for board_number in range(2000):
        state = random_board(rng)

        direction = chosen_direction(state, seed=board_number)

        if any(enters_free_cell(state, d) for d in DIRECTIONS):
            assert enters_free_cell(state, direction), (board_number, state)


def test_bot_same_seed_same_choice():
    rng = random.Random(5)
    states = [random_board(rng) for _ in range(50)]

    first = [chosen_direction(state, seed=11) for state in states]
    second = [chosen_direction(state, seed=11) for state in states]

    assert first == second


# Rock, paper, scissors bot


def rps_turn(number, mine, theirs):
    return {
        "number": number,
        "moves": {ME: {"throw": mine}, RIVAL: {"throw": theirs}},
        "events": [],
        "resolved_at": "2025-01-01T00:00:00Z",
    }


def test_rps_first_throw_is_random_valid():
    throws = {
        RpsPlayer(ME, random.Random(seed)).choose_move([]).move["throw"]
        for seed in range(30)
    }

    assert throws == {"rock", "paper", "scissors"}


def test_rps_counters_most_frequent_throw():
    turns = [
        rps_turn(1, "rock", "scissors"),
        rps_turn(2, "rock", "scissors"),
        rps_turn(3, "paper", "rock"),
    ]

    for seed in range(20):
        decision = RpsPlayer(ME, random.Random(seed), explore=0.0).choose_move(turns)
        assert decision.move == {"throw": "rock"}
        assert decision.reason == "rival threw scissors most often, 2 of 3"


def test_rps_ignores_own_and_null_moves():
    turns = [
        rps_turn(1, "paper", "paper"),
        {"number": 2, "moves": {ME: {"throw": "scissors"}, RIVAL: None}},
        {"number": 3, "moves": {ME: {"throw": "scissors"}, RIVAL: {"throw": "lizard"}}},
    ]

    decision = RpsPlayer(ME, random.Random(0), explore=0.0).choose_move(turns)

    assert decision.move == {"throw": "scissors"}


def test_rps_explore_one_is_uniform():
    turns = [rps_turn(n, "rock", "rock") for n in range(1, 6)]
    player = RpsPlayer(ME, random.Random(3), explore=1.0)

    throws = {player.choose_move(turns).move["throw"] for _ in range(60)}

    assert throws == {"rock", "paper", "scissors"}


def test_rps_rejects_invalid_explore():
    with pytest.raises(ValueError):
        RpsPlayer(ME, random.Random(0), explore=1.5)
