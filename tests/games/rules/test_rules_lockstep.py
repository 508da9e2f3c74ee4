import copy
import json

import pytest

from games.rules.base import InvalidMove, InvalidOptions
from games.rules.lockstep import MAX_MOVE_BYTES, LockstepRuleset, encoded_size

LOCKSTEP = LockstepRuleset()
ADA = "ada"
BOB = "bob"
CY = "cy"
PLAYERS = [ADA, BOB, CY]


def new_state(max_turns=0, players=PLAYERS):
    return LOCKSTEP.initial_state({"max_turns": max_turns}, list(players))


def final(result):
    return {"final": True, "result": result}


ADA_WINS = {ADA: "won", BOB: "lost", CY: "lost"}


# check_options


def test_options_default():
    assert LOCKSTEP.check_options({}) == {"max_turns": 0}


@pytest.mark.parametrize("max_turns", [0, 1, 50, 1_000_000])
def test_options_accept_max_turns(max_turns):
    assert LOCKSTEP.check_options({"max_turns": max_turns}) == {"max_turns": max_turns}


@pytest.mark.parametrize("max_turns", [-1, 1_000_001, True, False, "5", 2.0, None])
def test_options_reject_bad_max_turns(max_turns):
    with pytest.raises(InvalidOptions) as caught:
        LOCKSTEP.check_options({"max_turns": max_turns})
    assert caught.value.field == "max_turns"


def test_options_reject_unknown_key():
    with pytest.raises(InvalidOptions) as caught:
        LOCKSTEP.check_options({"turns": 5})
    assert caught.value.field == "turns"


# initial_state


def test_initial_state():
    assert new_state(7) == {"max_turns": 7, "players": PLAYERS}


def test_initial_state_accepts_sixteen_players():
    players = [f"p{seat}" for seat in range(16)]
    assert new_state(players=players)["players"] == players


def test_initial_state_rejects_seventeen_players():
    with pytest.raises(InvalidOptions) as caught:
        new_state(players=[f"p{seat}" for seat in range(17)])
    assert caught.value.field == "seats"


# check_move


@pytest.mark.parametrize(
    "move",
    [None, 0, -1.5, "", "text", [], [1, [2]], {}, {"any": {"thing": True}}, True],
)
def test_move_accepts_any_json(move):
    assert LOCKSTEP.check_move(new_state(), ADA, move) is None


def test_move_size_counts_utf8_bytes():
    # "é" is 2 bytes in UTF-8, and the quotes add 2 more.
    assert encoded_size("é" * 10) == 22
    assert encoded_size({"a": [1, 2]}) == len('{"a":[1,2]}')


def test_move_at_limit_accepted():
    move = "é" * 8191  # 2 + 8191 * 2 = 16384 bytes
    assert encoded_size(move) == MAX_MOVE_BYTES
    assert LOCKSTEP.check_move(new_state(), ADA, move) is None


def test_move_over_limit_rejected():
    move = "é" * 8191 + "a"  # 16385 bytes
    with pytest.raises(InvalidMove) as caught:
        LOCKSTEP.check_move(new_state(), ADA, move)
    assert caught.value.reason == (
        "The move is 16385 bytes as compact UTF-8 JSON, over the limit of 16384 bytes."
    )
    assert caught.value.details == {"field": "move", "size": 16385, "limit": 16384}


def test_move_limit_with_four_byte_chars():
    # {"s":""} is 8 bytes, and each emoji adds 4: 8 + 4094 * 4 = 16384.
    at_limit = {"s": "😀" * 4094}
    over_limit = {"s": "😀" * 4094 + "a"}
    assert encoded_size(at_limit) == 16384
    assert encoded_size(over_limit) == 16385
    assert LOCKSTEP.check_move(new_state(), ADA, at_limit) is None
    with pytest.raises(InvalidMove):
        LOCKSTEP.check_move(new_state(), ADA, over_limit)


@pytest.mark.parametrize("move", [float("nan"), float("inf"), "\ud800", {1, 2}])
def test_move_rejects_non_json(move):
    with pytest.raises(InvalidMove) as caught:
        LOCKSTEP.check_move(new_state(), ADA, move)
    assert caught.value.reason.startswith("The move is not a valid JSON value (")


def test_move_rejects_unseated_player():
    with pytest.raises(InvalidMove) as caught:
        LOCKSTEP.check_move(new_state(), "dee", 1)
    assert caught.value.reason == "Player dee is not seated in this game."


# resolve


def test_plain_moves_continue():
    state = new_state()
    moves = {ADA: {"x": 1}, BOB: [2], CY: "three"}
    resolution = LOCKSTEP.resolve(state, moves, turn=1)
    assert resolution.state == state
    assert resolution.events == []
    assert resolution.out == []
    assert resolution.outcome is None


def test_agreement_ends_game():
    moves = {pid: final(ADA_WINS) for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=12)
    assert resolution.outcome == ADA_WINS
    assert resolution.events == [{"type": "agreement", "result": ADA_WINS}]


def test_agreement_ignores_order_and_extras():
    reordered = {CY: "lost", BOB: "lost", ADA: "won"}
    moves = {
        ADA: final(ADA_WINS),
        BOB: {**final(reordered), "note": "gg"},
        CY: final(dict(ADA_WINS)),
    }
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=3)
    assert resolution.outcome == ADA_WINS


def test_agreement_on_all_draw():
    draw = {pid: "draw" for pid in PLAYERS}
    moves = {pid: final(draw) for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=3)
    assert resolution.outcome == draw
    assert resolution.events == [{"type": "agreement", "result": draw}]


def test_disagreement_is_draw():
    bob_wins = {ADA: "lost", BOB: "won", CY: "lost"}
    moves = {ADA: final(ADA_WINS), BOB: final(bob_wins), CY: final(ADA_WINS)}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=4)
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "draw"}
    assert resolution.events == [
        {
            "type": "disagreement",
            "reason": "results_differ",
            "results": {ADA: ADA_WINS, BOB: bob_wins, CY: ADA_WINS},
        }
    ]


@pytest.mark.parametrize(
    "result",
    [
        {ADA: "won", BOB: "lost"},
        {ADA: "won", BOB: "lost", CY: "lost", "dee": "lost"},
        {ADA: "won", BOB: "lost", CY: "win"},
        {ADA: "won", BOB: "lost", CY: "resigned"},
        {ADA: "won", BOB: "lost", CY: None},
        {ADA: "won", BOB: "lost", CY: ["lost"]},
        {},
    ],
)
def test_invalid_agreed_result_is_draw(result):
    moves = {pid: final(result) for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=2)
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "draw"}
    assert resolution.events == [
        {
            "type": "disagreement",
            "reason": "invalid_result",
            "results": {pid: result for pid in PLAYERS},
        }
    ]


def test_agreement_ignores_id_case():
    # iOS's UUID().uuidString is uppercase, but stored player ids are lowercase.
    upper = {pid.upper(): value for pid, value in ADA_WINS.items()}
    moves = {ADA: final(upper), BOB: final(ADA_WINS), CY: final(upper)}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=3)
    assert resolution.outcome == ADA_WINS
    assert resolution.events == [{"type": "agreement", "result": ADA_WINS}]


def test_result_naming_player_twice_is_draw():
    result = {**ADA_WINS, ADA.upper(): "lost"}
    moves = {pid: final(result) for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=2)
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "draw"}
    assert resolution.events[0]["reason"] == "invalid_result"


@pytest.mark.parametrize(
    "not_final",
    [
        {"final": False, "result": ADA_WINS},
        {"final": 1, "result": ADA_WINS},
        {"final": "true", "result": ADA_WINS},
        {"final": True, "result": [ADA_WINS]},
        {"final": True},
        {"result": ADA_WINS},
        [True, ADA_WINS],
        None,
    ],
)
def test_one_move_not_final_continues(not_final):
    moves = {ADA: final(ADA_WINS), BOB: final(ADA_WINS), CY: not_final}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=9)
    assert resolution.outcome is None
    assert resolution.events == []


def test_all_missed_continue():
    moves = {pid: None for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=1)
    assert resolution.outcome is None


def test_max_turns_reached_is_draw():
    moves = {pid: {"tick": 5} for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(max_turns=5), moves, turn=5)
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "draw"}
    assert resolution.events == [{"type": "max_turns", "turn": 5, "max_turns": 5}]


def test_before_max_turns_continues():
    moves = {pid: {"tick": 4} for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(max_turns=5), moves, turn=4)
    assert resolution.outcome is None


def test_zero_max_turns_has_no_limit():
    moves = {pid: 0 for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(max_turns=0), moves, turn=10**9)
    assert resolution.outcome is None


def test_agreement_on_last_turn_beats_limit():
    moves = {pid: final(ADA_WINS) for pid in PLAYERS}
    resolution = LOCKSTEP.resolve(new_state(max_turns=5), moves, turn=5)
    assert resolution.outcome == ADA_WINS


def test_remaining_final_moves_decide():
    # Cy resigned, so only Ada and Bob's final moves count. The result still
    # names every player of the game, Cy included.
    moves = {ADA: final(ADA_WINS), BOB: final(ADA_WINS)}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=6)
    assert resolution.outcome == ADA_WINS


def test_resolve_with_one_active_left_wins():
    resolution = LOCKSTEP.resolve(new_state(), {BOB: {"x": 1}}, turn=6)
    assert resolution.outcome == {ADA: "lost", BOB: "won", CY: "lost"}


def test_resolve_does_not_mutate_state():
    state = new_state(3)
    before = copy.deepcopy(state)
    LOCKSTEP.resolve(state, {pid: final(ADA_WINS) for pid in PLAYERS}, turn=3)
    assert state == before


def test_resolution_is_json():
    bob_wins = {ADA: "lost", BOB: "won", CY: "lost"}
    moves = {ADA: final(ADA_WINS), BOB: final(bob_wins), CY: final(ADA_WINS)}
    resolution = LOCKSTEP.resolve(new_state(), moves, turn=4)
    assert json.loads(json.dumps(resolution.state)) == resolution.state
    assert json.loads(json.dumps(resolution.events)) == resolution.events


# decide_after_leave


def test_leave_with_two_active_continues():
    assert LOCKSTEP.decide_after_leave(new_state(), [ADA, CY]) is None


def test_leave_with_one_active_wins():
    resolution = LOCKSTEP.decide_after_leave(new_state(), [CY])
    assert resolution.outcome == {ADA: "lost", BOB: "lost", CY: "won"}


def test_leave_with_none_active_draws():
    resolution = LOCKSTEP.decide_after_leave(new_state(), [])
    assert resolution.outcome == {ADA: "draw", BOB: "draw", CY: "draw"}


def test_missed_move_meaning():
    assert LOCKSTEP.missed_move_meaning() == (
        "A missed move is passed to the other players as null and is never "
        "a final move, so it keeps the game going."
    )
