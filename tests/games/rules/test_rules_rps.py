import copy
import json

import pytest

from games.rules.base import InvalidMove, InvalidOptions
from games.rules.rps import RockPaperScissorsRuleset

RPS = RockPaperScissorsRuleset()
ADA = "ada"
BOB = "bob"


def new_state(rounds=3):
    return RPS.initial_state({"rounds": rounds}, [ADA, BOB])


def play(state, ada_move, bob_move, turn=1):
    return RPS.resolve(state, {ADA: ada_move, BOB: bob_move}, turn=turn)


def throw(name):
    return {"throw": name}


# check_options


def test_options_default_rounds():
    assert RPS.check_options({}) == {"rounds": 3}


@pytest.mark.parametrize("rounds", [1, 3, 5, 97, 99])
def test_options_accept_odd_rounds(rounds):
    assert RPS.check_options({"rounds": rounds}) == {"rounds": rounds}


@pytest.mark.parametrize(
    "rounds", [0, 2, 4, 98, 100, 101, -1, True, False, "3", 3.0, None, [3]]
)
def test_options_reject_bad_rounds(rounds):
    with pytest.raises(InvalidOptions) as caught:
        RPS.check_options({"rounds": rounds})
    assert caught.value.field == "rounds"


def test_options_even_rounds_message():
    with pytest.raises(InvalidOptions) as caught:
        RPS.check_options({"rounds": 4})
    assert caught.value.message == (
        'The "rounds" option must be odd so that one player can win a majority, got 4.'
    )


def test_options_bool_rounds_message():
    with pytest.raises(InvalidOptions) as caught:
        RPS.check_options({"rounds": True})
    assert caught.value.message == (
        'The "rounds" option must be an integer from 1 to 99, got true.'
    )


def test_options_reject_unknown_key():
    with pytest.raises(InvalidOptions) as caught:
        RPS.check_options({"rounds": 3, "best_of": 3})
    assert caught.value.field == "best_of"
    assert caught.value.message == (
        'Unknown option "best_of". This ruleset\'s own options: "rounds"; '
        "every ruleset also takes turn_seconds, on_timeout and max_missed."
    )


def test_options_reject_non_object():
    with pytest.raises(InvalidOptions) as caught:
        RPS.check_options([3])
    assert caught.value.field == "options"


# initial_state


def test_initial_state():
    assert new_state(5) == {
        "rounds": 5,
        "round": 1,
        "score": {ADA: 0, BOB: 0},
        "players": [ADA, BOB],
    }


def test_initial_state_is_json():
    state = new_state()
    assert json.loads(json.dumps(state)) == state


def test_initial_state_rejects_three_players():
    with pytest.raises(InvalidOptions) as caught:
        RPS.initial_state({"rounds": 3}, [ADA, BOB, "cy"])
    assert caught.value.field == "seats"


# check_move


@pytest.mark.parametrize("name", ["rock", "paper", "scissors"])
def test_move_accepts_throws(name):
    assert RPS.check_move(new_state(), ADA, throw(name)) is None


@pytest.mark.parametrize(
    "move",
    [
        {"throw": "lizard"},
        {"throw": "Rock"},
        {"Throw": "rock"},
        {"hand": "rock"},
        {"throw": "rock", "extra": 1},
        {"throw": ["rock"]},
        {"throw": None},
        {},
        "rock",
        ["rock"],
        1,
        None,
    ],
)
def test_move_rejects_bad_shapes(move):
    with pytest.raises(InvalidMove):
        RPS.check_move(new_state(), ADA, move)


def test_move_message_exact():
    with pytest.raises(InvalidMove) as caught:
        RPS.check_move(new_state(), ADA, {"throw": "lizard"})
    assert caught.value.reason == (
        'A move must be {"throw": T} with T one of "rock", "paper" or "scissors", '
        'but got {"throw":"lizard"}.'
    )
    assert caught.value.details == {
        "field": "throw",
        "allowed": ["rock", "paper", "scissors"],
    }


def test_move_message_cuts_long_values():
    with pytest.raises(InvalidMove) as caught:
        RPS.check_move(new_state(), ADA, {"throw": "x" * 500})
    assert caught.value.reason.endswith('but got {"throw":"' + "x" * 67 + "....")


def test_move_rejects_unseated_player():
    with pytest.raises(InvalidMove) as caught:
        RPS.check_move(new_state(), "cy", throw("rock"))
    assert caught.value.reason == "Player cy is not seated in this game."


# resolve


@pytest.mark.parametrize(
    ("ada_throw", "bob_throw", "winner"),
    [
        ("rock", "scissors", ADA),
        ("scissors", "paper", ADA),
        ("paper", "rock", ADA),
        ("scissors", "rock", BOB),
        ("paper", "scissors", BOB),
        ("rock", "paper", BOB),
    ],
)
def test_round_winner_table(ada_throw, bob_throw, winner):
    resolution = play(new_state(), throw(ada_throw), throw(bob_throw))
    assert resolution.events[0]["winner"] == winner


def test_round_win_updates_state_and_events():
    resolution = play(new_state(), throw("rock"), throw("scissors"))
    assert resolution.state == {
        "rounds": 3,
        "round": 2,
        "score": {ADA: 1, BOB: 0},
        "players": [ADA, BOB],
    }
    assert resolution.events == [
        {
            "type": "round",
            "round": 1,
            "throws": {ADA: "rock", BOB: "scissors"},
            "winner": ADA,
            "score": {ADA: 1, BOB: 0},
        }
    ]
    assert resolution.out == []
    assert resolution.outcome is None


@pytest.mark.parametrize("name", ["rock", "paper", "scissors"])
def test_tied_round_is_replayed(name):
    state = new_state()
    resolution = play(state, throw(name), throw(name))
    assert resolution.state == state
    assert resolution.events == [
        {"type": "tie", "round": 1, "throws": {ADA: name, BOB: name}}
    ]
    assert resolution.outcome is None


def test_tie_does_not_count_toward_rounds():
    state = new_state(rounds=1)
    state = play(state, throw("rock"), throw("rock"), turn=1).state
    state = play(state, throw("paper"), throw("paper"), turn=2).state
    resolution = play(state, throw("paper"), throw("rock"), turn=3)
    assert resolution.events[0]["round"] == 1
    assert resolution.outcome == {ADA: "won", BOB: "lost"}


def test_majority_ends_game_early():
    state = new_state(rounds=5)
    for turn in (1, 2):
        resolution = play(state, throw("paper"), throw("rock"), turn=turn)
        assert resolution.outcome is None
        state = resolution.state

    resolution = play(state, throw("paper"), throw("rock"), turn=3)
    assert resolution.state["score"] == {ADA: 3, BOB: 0}
    assert resolution.state["round"] == 4
    assert resolution.outcome == {ADA: "won", BOB: "lost"}
    assert resolution.events[-1] == {
        "type": "game_over",
        "winner": ADA,
        "score": {ADA: 3, BOB: 0},
    }


def test_full_game_with_ties_and_comeback():
    state = new_state(rounds=3)
    turns = [
        (throw("rock"), throw("paper")),  # Bob takes round 1.
        (throw("rock"), throw("rock")),  # Tie, round 2 replayed.
        (throw("scissors"), throw("paper")),  # Ada takes round 2.
        (throw("paper"), throw("rock")),  # Ada takes round 3 and the game.
    ]
    resolution = None
    for turn, (ada_move, bob_move) in enumerate(turns, start=1):
        resolution = play(state, ada_move, bob_move, turn=turn)
        state = resolution.state

    assert [event["type"] for event in resolution.events] == ["round", "game_over"]
    assert resolution.events[0]["round"] == 3
    assert state["score"] == {ADA: 2, BOB: 1}
    assert resolution.outcome == {ADA: "won", BOB: "lost"}


def test_loss_outcome_for_first_seat():
    state = new_state(rounds=1)
    resolution = play(state, throw("scissors"), throw("rock"))
    assert resolution.outcome == {ADA: "lost", BOB: "won"}


def test_missed_move_loses_round():
    resolution = play(new_state(), None, throw("rock"))
    assert resolution.events[0] == {
        "type": "round",
        "round": 1,
        "throws": {ADA: None, BOB: "rock"},
        "winner": BOB,
        "score": {ADA: 0, BOB: 1},
    }


def test_second_seat_miss_loses_round():
    resolution = play(new_state(), throw("scissors"), None)
    assert resolution.events[0]["winner"] == ADA


def test_both_missed_is_tie():
    state = new_state()
    resolution = play(state, None, None)
    assert resolution.state == state
    assert resolution.events == [
        {"type": "tie", "round": 1, "throws": {ADA: None, BOB: None}}
    ]
    assert resolution.outcome is None


def test_resolve_does_not_mutate_state():
    state = new_state()
    before = copy.deepcopy(state)
    play(state, throw("rock"), throw("scissors"))
    assert state == before


def test_resolved_state_is_json():
    resolution = play(new_state(), throw("rock"), throw("scissors"))
    assert json.loads(json.dumps(resolution.state)) == resolution.state
    assert json.loads(json.dumps(resolution.events)) == resolution.events


def test_resolve_with_absent_player_ends_game():
    resolution = RPS.resolve(new_state(), {BOB: throw("rock")}, turn=1)
    assert resolution.outcome == {ADA: "lost", BOB: "won"}
    assert resolution.events == [
        {"type": "game_over", "winner": BOB, "score": {ADA: 0, BOB: 0}}
    ]


# decide_after_leave


def test_leave_with_two_active_continues():
    assert RPS.decide_after_leave(new_state(), [ADA, BOB]) is None


def test_leave_with_one_active_wins():
    resolution = RPS.decide_after_leave(new_state(), [ADA])
    assert resolution.outcome == {ADA: "won", BOB: "lost"}


def test_leave_with_none_active_draws():
    resolution = RPS.decide_after_leave(new_state(), [])
    assert resolution.outcome == {ADA: "draw", BOB: "draw"}
    assert resolution.events == [
        {"type": "game_over", "winner": None, "score": {ADA: 0, BOB: 0}}
    ]


def test_missed_move_meaning():
    assert RPS.missed_move_meaning() == (
        "A missed move loses the round to a player who threw, and a round "
        "that both players miss is a tie and is replayed."
    )
