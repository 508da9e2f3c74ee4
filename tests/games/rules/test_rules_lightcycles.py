import copy
import json
import random

import pytest

from games.rules.base import InvalidMove, InvalidOptions
from games.rules.lightcycles import STEPS, LightcyclesRuleset, start_positions

CYCLES = LightcyclesRuleset()
ADA = "ada"
BOB = "bob"
CY = "cy"
DEE = "dee"


def new_state(players=(ADA, BOB), width=16, height=16):
    return CYCLES.initial_state({"width": width, "height": height}, list(players))


def cycle(x, y, direction, alive=True):
    return {"x": x, "y": y, "dir": direction, "alive": alive}


def board(cycles, trails, width=10, height=10):
    """Build a state by hand. `trails` must list every head cell too."""
    return {"width": width, "height": height, "cycles": cycles, "trails": trails}


def go(direction):
    return {"dir": direction}


# check_options


def test_options_defaults():
    assert CYCLES.check_options({}) == {"width": 16, "height": 16}


@pytest.mark.parametrize("side", [4, 5, 16, 63, 64])
def test_options_accept_sides_in_range(side):
    assert CYCLES.check_options({"width": side, "height": side}) == {
        "width": side,
        "height": side,
    }


@pytest.mark.parametrize("key", ["width", "height"])
@pytest.mark.parametrize("value", [3, 0, -4, 65, True, "16", 16.0, None])
def test_options_reject_bad_sides(key, value):
    with pytest.raises(InvalidOptions) as caught:
        CYCLES.check_options({key: value})
    assert caught.value.field == key


def test_options_bad_side_message():
    with pytest.raises(InvalidOptions) as caught:
        CYCLES.check_options({"width": 65})
    assert caught.value.message == (
        'The "width" option must be an integer from 4 to 64, got 65.'
    )


def test_options_reject_unknown_key():
    with pytest.raises(InvalidOptions) as caught:
        CYCLES.check_options({"size": 16})
    assert caught.value.field == "size"
    assert caught.value.message == (
        'Unknown option "size". This ruleset\'s own options: "height", "width"; '
        "every ruleset also takes turn_seconds, on_timeout and max_missed."
    )


# initial_state


def test_initial_state_two_players():
    assert new_state() == {
        "width": 16,
        "height": 16,
        "cycles": {ADA: cycle(0, 7, "E"), BOB: cycle(15, 8, "W")},
        "trails": [[0, 7, ADA], [15, 8, BOB]],
    }


def test_initial_state_is_json():
    state = new_state([ADA, BOB, CY, DEE])
    assert json.loads(json.dumps(state)) == state


def test_initial_state_four_players_16():
    state = new_state([ADA, BOB, CY, DEE])
    assert state["cycles"] == {
        ADA: cycle(0, 7, "E"),
        BOB: cycle(15, 8, "W"),
        CY: cycle(8, 0, "S"),
        DEE: cycle(7, 15, "N"),
    }


@pytest.mark.parametrize("count", [2, 3, 4])
@pytest.mark.parametrize(
    ("width", "height"), [(4, 4), (4, 64), (64, 4), (5, 7), (16, 16), (64, 64)]
)
def test_starts_distinct_inside_facing_inward(count, width, height):
    starts = start_positions(width, height, count)
    cells = {(x, y) for x, y, _ in starts}
    assert len(starts) == count
    assert len(cells) == count
    for x, y, direction in starts:
        assert 0 <= x < width
        assert 0 <= y < height
        # Facing inward: the next cell is inside the grid and not a start cell.
        dx, dy = STEPS[direction]
        assert 0 <= x + dx < width
        assert 0 <= y + dy < height
        assert (x + dx, y + dy) not in cells


@pytest.mark.parametrize("count", [2, 3, 4])
def test_initial_trails_are_heads(count):
    players = [ADA, BOB, CY, DEE][:count]
    state = new_state(players, width=6, height=9)
    heads = [[c["x"], c["y"], pid] for pid, c in state["cycles"].items()]
    assert state["trails"] == heads
    assert list(state["cycles"]) == players


def test_initial_state_rejects_five_players():
    with pytest.raises(InvalidOptions) as caught:
        new_state([ADA, BOB, CY, DEE, "eve"])
    assert caught.value.field == "seats"


# check_move


@pytest.mark.parametrize("direction", ["N", "E", "S", "W"])
def test_move_accepts_directions(direction):
    assert CYCLES.check_move(new_state(), ADA, go(direction)) is None


@pytest.mark.parametrize(
    "move",
    [
        {"dir": "n"},
        {"dir": "NE"},
        {"dir": "up"},
        {"dir": 0},
        {"dir": ["N"]},
        {"direction": "N"},
        {"dir": "N", "speed": 2},
        {},
        "N",
        None,
    ],
)
def test_move_rejects_bad_shapes(move):
    with pytest.raises(InvalidMove):
        CYCLES.check_move(new_state(), ADA, move)


def test_move_message_exact():
    with pytest.raises(InvalidMove) as caught:
        CYCLES.check_move(new_state(), ADA, {"dir": "up"})
    assert caught.value.reason == (
        'A move must be {"dir": D} with D one of "N", "E", "S" or "W", '
        'but got {"dir":"up"}.'
    )
    assert caught.value.details == {"field": "dir", "allowed": ["N", "E", "S", "W"]}


def test_move_rejects_crashed_player():
    state = new_state()
    state["cycles"][BOB]["alive"] = False
    with pytest.raises(InvalidMove) as caught:
        CYCLES.check_move(state, BOB, go("N"))
    assert caught.value.reason == (
        "The cycle of player bob has crashed and takes no more moves."
    )


def test_move_rejects_unseated_player():
    with pytest.raises(InvalidMove) as caught:
        CYCLES.check_move(new_state(), CY, go("N"))
    assert caught.value.reason == "Player cy is not seated in this game."


# resolve: riding


def test_all_cycles_move_one_cell():
    resolution = CYCLES.resolve(new_state(), {ADA: go("N"), BOB: go("W")}, turn=1)
    assert resolution.state == {
        "width": 16,
        "height": 16,
        "cycles": {ADA: cycle(0, 6, "N"), BOB: cycle(14, 8, "W")},
        "trails": [[0, 7, ADA], [15, 8, BOB], [0, 6, ADA], [14, 8, BOB]],
    }
    assert resolution.events == []
    assert resolution.out == []
    assert resolution.outcome is None


def test_missed_move_keeps_direction():
    resolution = CYCLES.resolve(new_state(), {ADA: None, BOB: None}, turn=1)
    assert resolution.state["cycles"] == {
        ADA: cycle(1, 7, "E"),
        BOB: cycle(14, 8, "W"),
    }


def test_resolve_does_not_mutate_state():
    state = new_state()
    before = copy.deepcopy(state)
    CYCLES.resolve(state, {ADA: go("S"), BOB: None}, turn=1)
    assert state == before


# resolve: crashes


def test_crash_into_wall():
    state = board(
        {ADA: cycle(5, 0, "E"), BOB: cycle(5, 5, "E")},
        [[5, 0, ADA], [5, 5, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: go("N"), BOB: None}, turn=3)
    assert resolution.events == [
        {"type": "crash", "player": ADA, "x": 5, "y": -1, "cause": "wall"},
        {"type": "game_over", "winner": BOB},
    ]
    assert resolution.state["cycles"][ADA] == cycle(5, 0, "N", alive=False)
    assert resolution.state["cycles"][BOB] == cycle(6, 5, "E")
    assert resolution.out == [ADA]
    assert resolution.outcome == {ADA: "lost", BOB: "won"}


@pytest.mark.parametrize(
    ("x", "y", "direction", "target"),
    [(9, 3, "E", (10, 3)), (0, 3, "W", (-1, 3)), (3, 9, "S", (3, 10))],
)
def test_crash_into_each_wall(x, y, direction, target):
    state = board(
        {ADA: cycle(x, y, direction), BOB: cycle(5, 5, "N")},
        [[x, y, ADA], [5, 5, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=1)
    assert resolution.events[0] == {
        "type": "crash",
        "player": ADA,
        "x": target[0],
        "y": target[1],
        "cause": "wall",
    }


def test_crash_into_own_trail():
    # Ada has ridden (2,2) -> (3,2) -> (3,3) -> (2,3) and turns N into (2,2).
    state = board(
        {ADA: cycle(2, 3, "W"), BOB: cycle(8, 8, "N")},
        [[2, 2, ADA], [3, 2, ADA], [3, 3, ADA], [2, 3, ADA], [8, 8, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: go("N"), BOB: None}, turn=4)
    assert resolution.events[0] == {
        "type": "crash",
        "player": ADA,
        "x": 2,
        "y": 2,
        "cause": "trail",
    }
    assert resolution.outcome == {ADA: "lost", BOB: "won"}


def test_reversing_crashes_into_own_trail():
    state = board(
        {ADA: cycle(5, 5, "E"), BOB: cycle(8, 8, "N")},
        [[4, 5, ADA], [5, 5, ADA], [8, 8, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: go("W"), BOB: None}, turn=2)
    assert resolution.events[0] == {
        "type": "crash",
        "player": ADA,
        "x": 4,
        "y": 5,
        "cause": "trail",
    }


@pytest.mark.parametrize("seat", [0, 1, 2, 3])
def test_reversing_on_first_turn_hits_wall(seat):
    players = [ADA, BOB, CY, DEE]
    state = new_state(players)
    pid = players[seat]
    reverse = {"N": "S", "S": "N", "E": "W", "W": "E"}[state["cycles"][pid]["dir"]]
    moves = {player: None for player in players}
    moves[pid] = go(reverse)
    resolution = CYCLES.resolve(state, moves, turn=1)
    assert resolution.events[0]["player"] == pid
    assert resolution.events[0]["cause"] == "wall"
    assert resolution.out == [pid]


def test_crash_into_other_trail():
    state = board(
        {ADA: cycle(4, 4, "E"), BOB: cycle(5, 6, "N")},
        [[4, 4, ADA], [5, 3, BOB], [5, 4, BOB], [5, 5, BOB], [5, 6, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: go("E")}, turn=4)
    assert resolution.events[0] == {
        "type": "crash",
        "player": ADA,
        "x": 5,
        "y": 4,
        "cause": "trail",
    }
    assert resolution.outcome == {ADA: "lost", BOB: "won"}


def test_crash_into_vacated_head():
    # Bob's head cell at the start of the turn stays a trail cell after he leaves it.
    state = board(
        {ADA: cycle(4, 4, "E"), BOB: cycle(5, 4, "N")},
        [[4, 4, ADA], [5, 4, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=1)
    assert resolution.events[0] == {
        "type": "crash",
        "player": ADA,
        "x": 5,
        "y": 4,
        "cause": "trail",
    }
    assert resolution.state["cycles"][BOB] == cycle(5, 3, "N")


def test_same_cell_collision_is_draw():
    state = board(
        {ADA: cycle(3, 5, "E"), BOB: cycle(5, 5, "W")},
        [[3, 5, ADA], [5, 5, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=1)
    assert resolution.events == [
        {"type": "crash", "player": ADA, "x": 4, "y": 5, "cause": "collision"},
        {"type": "crash", "player": BOB, "x": 4, "y": 5, "cause": "collision"},
        {"type": "game_over", "winner": None},
    ]
    assert resolution.out == [ADA, BOB]
    assert resolution.outcome == {ADA: "draw", BOB: "draw"}
    # No cycle occupies the contested cell.
    assert resolution.state["trails"] == [[3, 5, ADA], [5, 5, BOB]]


def test_head_on_swap_is_collision():
    state = board(
        {ADA: cycle(4, 5, "E"), BOB: cycle(5, 5, "W")},
        [[4, 5, ADA], [5, 5, BOB]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=1)
    assert resolution.events == [
        {"type": "crash", "player": ADA, "x": 5, "y": 5, "cause": "collision"},
        {"type": "crash", "player": BOB, "x": 4, "y": 5, "cause": "collision"},
        {"type": "game_over", "winner": None},
    ]
    assert resolution.outcome == {ADA: "draw", BOB: "draw"}


def test_collision_with_third_rider_left_wins():
    state = board(
        {ADA: cycle(3, 5, "E"), BOB: cycle(5, 5, "W"), CY: cycle(8, 8, "N")},
        [[3, 5, ADA], [5, 5, BOB], [8, 8, CY]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None, CY: None}, turn=1)
    assert resolution.out == [ADA, BOB]
    assert resolution.outcome == {ADA: "lost", BOB: "lost", CY: "won"}
    assert resolution.events[-1] == {"type": "game_over", "winner": CY}


def test_joint_crash_draw_earlier_lost():
    state = board(
        {
            ADA: cycle(3, 5, "E"),
            BOB: cycle(5, 5, "W"),
            CY: cycle(8, 8, "N", alive=False),
        },
        [[3, 5, ADA], [5, 5, BOB], [8, 8, CY]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=5)
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "lost"}


def test_crash_with_game_going_on():
    state = new_state([ADA, BOB, CY])
    moves = {ADA: go("W"), BOB: None, CY: None}
    resolution = CYCLES.resolve(state, moves, turn=1)
    assert resolution.out == [ADA]
    assert resolution.outcome is None
    assert resolution.events == [
        {"type": "crash", "player": ADA, "x": -1, "y": 7, "cause": "wall"}
    ]
    assert resolution.state["cycles"][ADA]["alive"] is False
    assert resolution.state["cycles"][BOB]["alive"] is True
    assert resolution.state["cycles"][CY]["alive"] is True


def test_crashed_cycle_stays_put_in_later_turns():
    state = new_state([ADA, BOB, CY])
    state = CYCLES.resolve(state, {ADA: go("W"), BOB: None, CY: None}, turn=1).state
    resolution = CYCLES.resolve(state, {BOB: None, CY: None}, turn=2)
    assert resolution.state["cycles"][ADA] == cycle(0, 7, "W", alive=False)
    assert [0, 7, ADA] in resolution.state["trails"]
    assert resolution.events == []


# resolve: players who left


def test_absent_player_is_gone():
    state = new_state([ADA, BOB, CY])
    resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=1)
    assert resolution.state["cycles"][CY] == cycle(8, 0, "S", alive=False)
    assert resolution.state["cycles"][ADA] == cycle(1, 7, "E")
    assert resolution.state["cycles"][BOB] == cycle(14, 8, "W")
    assert [8, 0, CY] in resolution.state["trails"]
    assert resolution.out == []
    assert resolution.outcome is None


def test_absent_trail_still_crashes_others():
    state = board(
        {ADA: cycle(4, 4, "E"), BOB: cycle(5, 4, "S"), CY: cycle(8, 8, "N")},
        [[4, 4, ADA], [5, 4, BOB], [8, 8, CY]],
    )
    resolution = CYCLES.resolve(state, {ADA: None, CY: None}, turn=1)
    assert resolution.events[0] == {
        "type": "crash",
        "player": ADA,
        "x": 5,
        "y": 4,
        "cause": "trail",
    }
    assert resolution.outcome == {ADA: "lost", BOB: "lost", CY: "won"}


def test_absent_rival_ends_two_player_game():
    state = new_state()
    resolution = CYCLES.resolve(state, {ADA: go("N")}, turn=1)
    assert resolution.outcome == {ADA: "won", BOB: "lost"}
    assert resolution.events == [{"type": "game_over", "winner": ADA}]
    assert resolution.state["cycles"][ADA] == cycle(0, 7, "E")
    assert resolution.state["cycles"][BOB] == cycle(15, 8, "W", alive=False)


# full games


def test_full_game_to_the_end():
    state = new_state()
    resolution = None
    for turn in range(1, 100):
        moves = {ADA: None, BOB: go("N") if turn == 1 else None}
        resolution = CYCLES.resolve(state, moves, turn=turn)
        state = resolution.state
        if resolution.outcome is not None:
            break

    # Bob turns N at x=15 and rides to y=0. His 9th step leaves the grid.
    assert turn == 9
    assert resolution.outcome == {ADA: "won", BOB: "lost"}
    assert resolution.events == [
        {"type": "crash", "player": BOB, "x": 15, "y": -1, "cause": "wall"},
        {"type": "game_over", "winner": ADA},
    ]
    assert state["cycles"][ADA] == cycle(9, 7, "E")
    assert state["cycles"][BOB] == cycle(15, 0, "N", alive=False)
    assert len(state["trails"]) == 2 + 9 + 8


def test_full_game_straight_ends_in_draw():
    # Both ride straight along rows 7 and 8 and reach the far wall on turn 16.
    state = new_state()
    for turn in range(1, 17):
        resolution = CYCLES.resolve(state, {ADA: None, BOB: None}, turn=turn)
        state = resolution.state
        if turn < 16:
            assert resolution.outcome is None

    assert resolution.outcome == {ADA: "draw", BOB: "draw"}
    assert len(state["trails"]) == 32


def test_random_games_keep_trails_bounded():
    rng = random.Random(20240601)
    choices = [None, go("N"), go("E"), go("S"), go("W")]
    for _ in range(200):
        players = [ADA, BOB, CY, DEE][: rng.randint(2, 4)]
        width = rng.randint(4, 7)
        height = rng.randint(4, 7)
        state = new_state(players, width=width, height=height)
        active = list(players)
        outcome = None
        for turn in range(1, width * height + 2):
            moves = {pid: rng.choice(choices) for pid in active}
            resolution = CYCLES.resolve(state, moves, turn=turn)
            state = resolution.state
            active = [pid for pid in active if pid not in resolution.out]
            cells = [(x, y) for x, y, _ in state["trails"]]
            assert len(cells) == len(set(cells))
            assert len(cells) <= width * height
            if resolution.outcome is not None:
                outcome = resolution.outcome
                break

        assert outcome is not None
        assert set(outcome) == set(players)
        assert json.loads(json.dumps(state)) == state


# decide_after_leave


def test_leave_with_two_riders_continues():
    state = new_state([ADA, BOB, CY])
    resolution = CYCLES.decide_after_leave(state, [ADA, BOB])
    assert resolution.outcome is None
    assert resolution.state["cycles"][CY]["alive"] is False
    assert resolution.state["cycles"][ADA]["alive"] is True
    assert state["cycles"][CY]["alive"] is True


def test_leave_with_one_rider_wins():
    state = new_state([ADA, BOB, CY])
    resolution = CYCLES.decide_after_leave(state, [BOB])
    assert resolution.outcome == {ADA: "lost", BOB: "won", CY: "lost"}
    assert resolution.events == [{"type": "game_over", "winner": BOB}]
    assert resolution.state["cycles"][ADA]["alive"] is False
    assert resolution.state["cycles"][BOB]["alive"] is True
    assert resolution.state["cycles"][CY]["alive"] is False


def test_leave_with_none_left():
    state = new_state([ADA, BOB, CY])
    state["cycles"][CY]["alive"] = False
    resolution = CYCLES.decide_after_leave(state, [])
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "lost"}
    assert resolution.events == [{"type": "game_over", "winner": None}]


def test_missed_move_meaning():
    assert CYCLES.missed_move_meaning() == (
        "A missed move keeps the cycle riding in its current direction."
    )
