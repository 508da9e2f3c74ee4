"""Turns: sealed moves, resolution, retries, conflicts, the turn list and resign."""

from __future__ import annotations

import uuid

import pytest

from tests.api.support import (
    expect_conflict,
    expect_error,
    move_path,
    play_turn,
    resolved_turns,
    snapshot,
)


def turns_path(game_id: str) -> str:
    return f"/api/v1/games/{game_id}/turns"


def resign(api, token: str, game_id: str):
    return api.post(f"/api/v1/games/{game_id}/resign", token)


# -- moves for the current turn --------------------------------------------


def test_first_move_is_stored_unresolved(api):
    game, (first, _second) = api.started_game("rps")

    response = api.move(first["token"], game["id"], 1, {"throw": "rock"})

    assert response.status_code == 200
    body = response.json()
    assert body["turn"] == 1
    assert body["resolved"] is False
    assert body["game"]["turn"] == 1
    assert body["game"]["submitted"] == [first["id"]]
    assert body["game"]["your_move"] == {"throw": "rock"}
    assert body["game"]["version"] == game["version"] + 1


def test_last_move_resolves_turn(api):
    game, (first, second) = api.started_game("rps")
    assert api.move(first["token"], game["id"], 1, {"throw": "rock"}).status_code == 200

    response = api.move(second["token"], game["id"], 1, {"throw": "scissors"})

    assert response.status_code == 200
    body = response.json()
    assert body["turn"] == 1
    assert body["resolved"] is True
    assert body["game"]["turn"] == 2
    assert body["game"]["submitted"] == []
    assert body["game"]["your_move"] is None
    assert body["game"]["state"]["score"] == {first["id"]: 1, second["id"]: 0}


def test_turn_resolves_exactly_once(api):
    game, (first, second) = api.started_game("rps")
    play_turn(
        api,
        game["id"],
        1,
        [(first, {"throw": "rock"}), (second, {"throw": "scissors"})],
    )

    turns = resolved_turns(api, first["token"], game["id"])

    assert [turn["number"] for turn in turns] == [1]
    assert turns[0]["moves"] == {
        first["id"]: {"throw": "rock"},
        second["id"]: {"throw": "scissors"},
    }
    assert [event["type"] for event in turns[0]["events"]] == ["round"]
    assert turns[0]["resolved_at"].endswith("Z")


def test_replaced_move_counts(api):
    game, (first, second) = api.started_game("rps")
    assert api.move(first["token"], game["id"], 1, {"throw": "rock"}).status_code == 200

    replaced = api.move(first["token"], game["id"], 1, {"throw": "paper"})
    last = api.move(second["token"], game["id"], 1, {"throw": "rock"})

    assert replaced.status_code == 200
    assert replaced.json()["resolved"] is False
    assert replaced.json()["game"]["your_move"] == {"throw": "paper"}
    assert last.json()["resolved"] is True
    turn = resolved_turns(api, first["token"], game["id"])[0]
    assert turn["moves"][first["id"]] == {"throw": "paper"}
    assert turn["events"][0]["winner"] == first["id"]


def test_same_move_twice_changes_nothing(api):
    game, (first, _second) = api.started_game("rps")
    first_try = api.move(first["token"], game["id"], 1, {"throw": "rock"}).json()

    second_try = api.move(first["token"], game["id"], 1, {"throw": "rock"})

    assert second_try.status_code == 200
    assert second_try.json()["resolved"] is False
    assert second_try.json()["game"]["version"] == first_try["game"]["version"]


def test_move_response_version_matches_etag(api):
    game, (first, _second) = api.started_game("rps")

    body = api.move(first["token"], game["id"], 1, {"throw": "rock"}).json()

    etag = api.get(f"/api/v1/games/{game['id']}", first["token"]).headers["ETag"]
    assert etag == f'"{body["game"]["version"]}"'


# -- retries and conflicts -------------------------------------------------


def test_retry_of_resolved_turn_is_200(api):
    game, (first, second) = api.started_game("rps")
    play_turn(
        api, game["id"], 1, [(first, {"throw": "rock"}), (second, {"throw": "paper"})]
    )
    before = snapshot(api, first["token"], game["id"])

    response = api.move(first["token"], game["id"], 1, {"throw": "rock"})

    assert response.status_code == 200
    assert response.json()["turn"] == 1
    assert response.json()["resolved"] is True
    assert response.json()["game"]["version"] == before["version"]
    assert snapshot(api, first["token"], game["id"]) == before


def test_retry_with_reordered_keys_is_200(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    play_turn(api, game["id"], 1, [(first, {"a": 1, "b": [1, 2]}), (second, 2)])
    before = snapshot(api, first["token"], game["id"])

    response = api.put(
        move_path(game["id"], 1),
        first["token"],
        data=b'{"move": {"b": [1, 2], "a": 1}}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 200
    assert response.json()["resolved"] is True
    assert snapshot(api, first["token"], game["id"]) == before


def test_retry_after_game_finished_is_200(api):
    game, (first, second) = api.started_game("rps", rounds=1)
    play_turn(
        api, game["id"], 1, [(first, {"throw": "rock"}), (second, {"throw": "paper"})]
    )
    before = snapshot(api, second["token"], game["id"])
    assert before["status"] == "finished"

    response = api.move(second["token"], game["id"], 1, {"throw": "paper"})

    assert response.status_code == 200
    assert response.json()["resolved"] is True
    assert snapshot(api, second["token"], game["id"]) == before


def test_different_move_for_closed_turn_is_409(api):
    game, (first, second) = api.started_game("rps")
    play_turn(
        api, game["id"], 1, [(first, {"throw": "rock"}), (second, {"throw": "paper"})]
    )
    before = snapshot(api, first["token"], game["id"])

    response = api.move(first["token"], game["id"], 1, {"throw": "scissors"})

    details = expect_conflict(response, "turn_closed", turn=2, status="active")
    assert "scissors" not in response.text
    assert details["turn"] == 2
    assert snapshot(api, first["token"], game["id"]) == before


def test_turn_zero_is_409_turn_closed(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = api.move(first["token"], game["id"], 0, "x")

    expect_conflict(response, "turn_closed", turn=1, status="active")


@pytest.mark.parametrize("turn", [2, 3, 1000, 2**31, 2**63, 10**23])
def test_later_turn_is_409_wrong_turn(api, lockstep_pair, turn):
    game, (first, _second) = lockstep_pair
    before = snapshot(api, first["token"], game["id"])

    response = api.move(first["token"], game["id"], turn, "early")

    expect_conflict(response, "wrong_turn", turn=1, status="active")
    assert snapshot(api, first["token"], game["id"]) == before


def test_move_in_waiting_game_is_409(api):
    host = api.new_player()
    game = api.new_game(host["token"], "rps", 2)

    response = api.move(host["token"], game["id"], 1, {"throw": "rock"})

    expect_conflict(response, "game_not_active", turn=0, status="waiting")
    assert api.game(host["token"], game["id"])["version"] == game["version"]


def test_move_in_finished_game_is_409(api):
    game, (first, second) = api.started_game("rps")
    assert resign(api, second["token"], game["id"]).status_code == 200

    response = api.move(first["token"], game["id"], 1, {"throw": "rock"})

    expect_conflict(response, "game_not_active", turn=1, status="finished")


def test_move_by_resigned_player_is_409(api):
    game, (first, _second, _third) = api.started_game("lockstep", 3)
    assert resign(api, first["token"], game["id"]).status_code == 200

    response = api.move(first["token"], game["id"], 1, "late")

    details = expect_conflict(response, "game_not_active", turn=1, status="active")
    assert details["player_status"] == "resigned"


@pytest.mark.parametrize(
    "move",
    [
        {"throw": "lizard"},
        {"throw": "Rock"},
        {"throw": None},
        {},
        {"throw": "rock", "extra": 1},
        "rock",
        None,
        ["rock"],
        7,
    ],
)
def test_invalid_rps_move_is_400(api, move):
    game, (first, _second) = api.started_game("rps")

    response = api.move(first["token"], game["id"], 1, move)

    details = expect_error(response, 400, "invalid_move")
    assert details["field"] in ("move", "throw")
    view = api.game(first["token"], game["id"])
    assert view["version"] == game["version"]
    assert view["submitted"] == []


@pytest.mark.parametrize("move", [{"dir": "NE"}, {"dir": "n"}, {"direction": "N"}, "N"])
def test_invalid_lightcycles_move_is_400(api, move):
    game, (first, _second) = api.started_game("lightcycles", 2, width=6, height=6)

    response = api.move(first["token"], game["id"], 1, move)

    expect_error(response, 400, "invalid_move")
    assert api.game(first["token"], game["id"])["version"] == game["version"]


def test_missing_move_field_is_400(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = api.put(move_path(game["id"], 1), first["token"], json={"mvoe": 1})

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "move"


def test_null_move_is_stored_in_lockstep(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = api.move(first["token"], game["id"], 1, None)

    assert response.status_code == 200
    assert response.json()["game"]["submitted"] == [first["id"]]


def test_move_by_non_member_is_403(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    outsider = api.new_player()
    before = snapshot(api, first["token"], game["id"])

    response = api.move(outsider["token"], game["id"], 1, "intruder")

    details = expect_error(response, 403, "not_a_member")
    assert details == {"game": game["id"]}
    assert snapshot(api, first["token"], game["id"]) == before


def test_non_member_conflicting_turn_is_403(api, lockstep_pair):
    game, _players = lockstep_pair
    outsider = api.new_player()

    response = api.move(outsider["token"], game["id"], 5, "intruder")

    expect_error(response, 403, "not_a_member")


# -- the turn list ---------------------------------------------------------


@pytest.fixture
def long_game(api):
    """A lockstep game with 25 resolved turns; move of seat s on turn n is [n, s]."""
    game, players = api.started_game("lockstep", 2)
    for number in range(1, 26):
        play_turn(
            api,
            game["id"],
            number,
            [(p, [number, seat]) for seat, p in enumerate(players)],
        )
    return game, players


def test_turn_list_default_limit_20(api, long_game):
    game, (first, second) = long_game

    response = api.get(turns_path(game["id"]), first["token"])

    assert response.status_code == 200
    body = response.json()
    assert [turn["number"] for turn in body["turns"]] == list(range(1, 21))
    assert body["next_after"] == 20
    assert body["turns"][4]["moves"] == {first["id"]: [5, 0], second["id"]: [5, 1]}
    assert body["turns"][4]["events"] == []


def test_turn_list_pages_with_after(api, long_game):
    game, (first, _second) = long_game

    page = api.get(f"{turns_path(game['id'])}?after=20", first["token"]).json()
    end = api.get(f"{turns_path(game['id'])}?after=25", first["token"]).json()
    beyond = api.get(f"{turns_path(game['id'])}?after=40", first["token"]).json()

    assert [turn["number"] for turn in page["turns"]] == [21, 22, 23, 24, 25]
    assert page["next_after"] == 25
    assert end == {"turns": [], "next_after": 25}
    assert beyond == {"turns": [], "next_after": 40}


def test_turn_list_limit(api, long_game):
    game, (first, _second) = long_game

    small = api.get(f"{turns_path(game['id'])}?after=3&limit=2", first["token"]).json()
    one = api.get(f"{turns_path(game['id'])}?limit=1", first["token"]).json()
    most = api.get(f"{turns_path(game['id'])}?limit=100", first["token"]).json()

    assert [turn["number"] for turn in small["turns"]] == [4, 5]
    assert small["next_after"] == 5
    assert [turn["number"] for turn in one["turns"]] == [1]
    assert [turn["number"] for turn in most["turns"]] == list(range(1, 26))
    assert most["next_after"] == 25


def test_turn_list_hides_current_turn(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    play_turn(api, game["id"], 1, [(first, "first move"), (second, "second move")])
    pending = f"pending-{uuid.uuid4()}"
    assert api.move(first["token"], game["id"], 2, pending).status_code == 200

    response = api.get(turns_path(game["id"]), second["token"])

    assert [turn["number"] for turn in response.json()["turns"]] == [1]
    assert pending not in response.text


def test_turn_list_of_waiting_game_is_empty(api):
    host = api.new_player()
    game = api.new_game(host["token"], "rps", 2)

    response = api.get(turns_path(game["id"]), host["token"])

    assert response.status_code == 200
    assert response.json() == {"turns": [], "next_after": 0}


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=abc",
        "limit=",
        "limit=1.5",
        "limit=99999999999999999999999",
        "after=-1",
        "after=abc",
        "after=",
        "after=1e3",
        "after=99999999999999999999999",
        "after=%201",
        "after=%D9%A3",
    ],
)
def test_turn_list_bad_query_is_400(api, lockstep_pair, query):
    game, (first, _second) = lockstep_pair

    response = api.get(f"{turns_path(game['id'])}?{query}", first["token"])

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == query.split("=")[0]


# -- resign ----------------------------------------------------------------


def test_resign_finishes_two_player_game(api):
    game, (first, second) = api.started_game("rps")

    response = resign(api, first["token"], game["id"])

    assert response.status_code == 200
    view = response.json()
    assert view["status"] == "finished"
    assert view["outcome"] == {first["id"]: "resigned", second["id"]: "won"}
    assert view["players"][0]["status"] == "resigned"
    assert response.headers["ETag"] == f'"{view["version"]}"'


def test_resign_in_three_player_game_plays_on(api):
    game, (first, second, third) = api.started_game("lightcycles", 3, width=8, height=8)

    view = resign(api, second["token"], game["id"]).json()

    assert view["status"] == "active"
    assert view["outcome"] is None
    assert [p["status"] for p in view["players"]] == ["active", "resigned", "active"]
    assert view["state"]["cycles"][second["id"]]["alive"] is False
    body = play_turn(api, game["id"], 1, [(first, {"dir": "E"}), (third, {"dir": "W"})])
    assert body["resolved"] is True


def test_resign_of_last_missing_player_resolves_turn(api):
    game, (first, second, third) = api.started_game("lockstep", 3)
    play_turn(api, game["id"], 1, [(first, "f1"), (second, "s1")])

    view = resign(api, third["token"], game["id"]).json()

    assert view["status"] == "active"
    assert view["turn"] == 2
    turns = resolved_turns(api, first["token"], game["id"])
    assert turns[0]["moves"] == {first["id"]: "f1", second["id"]: "s1"}


def test_resign_twice_is_noop(api):
    game, (first, _second, _third) = api.started_game("lockstep", 3)
    view = resign(api, first["token"], game["id"]).json()

    response = resign(api, first["token"], game["id"])

    assert response.status_code == 200
    assert response.json()["version"] == view["version"]


def test_resign_in_finished_game_is_409(api):
    game, (first, second) = api.started_game("rps")
    assert resign(api, first["token"], game["id"]).status_code == 200

    response = resign(api, second["token"], game["id"])

    expect_conflict(response, "game_not_active", turn=1, status="finished")


def test_resign_in_waiting_game_is_409(api):
    host = api.new_player()
    game = api.new_game(host["token"], "rps", 2)

    response = resign(api, host["token"], game["id"])

    expect_conflict(response, "game_not_active", turn=0, status="waiting")


def test_resign_by_non_member_is_403(api):
    game, (first, _second) = api.started_game("rps")
    outsider = api.new_player()

    response = resign(api, outsider["token"], game["id"])

    expect_error(response, 403, "not_a_member")
    assert api.game(first["token"], game["id"])["status"] == "active"


# -- whole games -----------------------------------------------------------


def test_rps_best_of_three(api):
    game, (first, second) = api.started_game("rps")
    gid = game["id"]

    play_turn(
        api, gid, 1, [(first, {"throw": "rock"}), (second, {"throw": "scissors"})]
    )
    play_turn(api, gid, 2, [(first, {"throw": "rock"}), (second, {"throw": "rock"})])
    last = play_turn(
        api, gid, 3, [(first, {"throw": "paper"}), (second, {"throw": "rock"})]
    )

    view = last["game"]
    assert last["resolved"] is True
    assert view["status"] == "finished"
    assert view["turn"] == 3
    assert view["outcome"] == {first["id"]: "won", second["id"]: "lost"}
    assert view["state"]["score"] == {first["id"]: 2, second["id"]: 0}
    turns = resolved_turns(api, second["token"], gid)
    assert [[e["type"] for e in t["events"]] for t in turns] == [
        ["round"],
        ["tie"],
        ["round", "game_over"],
    ]
    assert turns[1]["events"][0]["round"] == 2
    assert turns[2]["events"][1] == {
        "type": "game_over",
        "winner": first["id"],
        "score": {first["id"]: 2, second["id"]: 0},
    }


def test_rps_comeback_in_five_rounds(api):
    game, (first, second) = api.started_game("rps", rounds=5)
    gid = game["id"]
    rounds = [("rock", "paper"), ("rock", "paper"), ("scissors", "paper")]
    rounds += [("paper", "rock"), ("rock", "scissors")]

    for number, (a, b) in enumerate(rounds, start=1):
        last = play_turn(
            api, gid, number, [(first, {"throw": a}), (second, {"throw": b})]
        )

    assert last["game"]["status"] == "finished"
    assert last["game"]["outcome"] == {first["id"]: "won", second["id"]: "lost"}
    assert last["game"]["state"]["score"] == {first["id"]: 3, second["id"]: 2}


def test_lightcycles_wall_crash(api):
    game, (first, second) = api.started_game("lightcycles", 2, width=6, height=6)
    gid = game["id"]
    cycles = game["state"]["cycles"]
    assert cycles[first["id"]] == {"x": 0, "y": 2, "dir": "E", "alive": True}
    assert cycles[second["id"]] == {"x": 5, "y": 3, "dir": "W", "alive": True}

    play_turn(api, gid, 1, [(first, {"dir": "N"}), (second, {"dir": "W"})])
    play_turn(api, gid, 2, [(first, {"dir": "N"}), (second, {"dir": "W"})])
    last = play_turn(api, gid, 3, [(first, {"dir": "N"}), (second, {"dir": "W"})])

    view = last["game"]
    assert view["status"] == "finished"
    assert view["outcome"] == {first["id"]: "lost", second["id"]: "won"}
    assert view["players"][0]["status"] == "out"
    turn = resolved_turns(api, first["token"], gid)[2]
    assert turn["events"] == [
        {"type": "crash", "player": first["id"], "x": 0, "y": -1, "cause": "wall"},
        {"type": "game_over", "winner": second["id"]},
    ]


def test_lightcycles_head_on_collision_is_draw(api):
    game, (first, second) = api.started_game("lightcycles", 2, width=6, height=6)
    gid = game["id"]

    play_turn(api, gid, 1, [(first, {"dir": "E"}), (second, {"dir": "W"})])
    play_turn(api, gid, 2, [(first, {"dir": "S"}), (second, {"dir": "W"})])
    last = play_turn(api, gid, 3, [(first, {"dir": "E"}), (second, {"dir": "W"})])

    assert last["game"]["status"] == "finished"
    assert last["game"]["outcome"] == {first["id"]: "draw", second["id"]: "draw"}
    events = resolved_turns(api, first["token"], gid)[2]["events"]
    assert events == [
        {"type": "crash", "player": first["id"], "x": 2, "y": 3, "cause": "collision"},
        {"type": "crash", "player": second["id"], "x": 2, "y": 3, "cause": "collision"},
        {"type": "game_over", "winner": None},
    ]


def test_lightcycles_three_players(api):
    game, (first, second, third) = api.started_game("lightcycles", 3, width=6, height=6)
    gid = game["id"]
    assert game["state"]["cycles"][third["id"]] == {
        "x": 3,
        "y": 0,
        "dir": "S",
        "alive": True,
    }

    play_turn(
        api,
        gid,
        1,
        [(first, {"dir": "N"}), (second, {"dir": "W"}), (third, {"dir": "S"})],
    )
    play_turn(
        api,
        gid,
        2,
        [(first, {"dir": "N"}), (second, {"dir": "W"}), (third, {"dir": "E"})],
    )
    after_crash = play_turn(
        api,
        gid,
        3,
        [(first, {"dir": "N"}), (second, {"dir": "W"}), (third, {"dir": "E"})],
    )

    view = after_crash["game"]
    assert view["status"] == "active"
    assert view["turn"] == 4
    assert [p["status"] for p in view["players"]] == ["out", "active", "active"]
    late = api.move(first["token"], gid, 4, {"dir": "S"})
    details = expect_conflict(late, "game_not_active", turn=4, status="active")
    assert details["player_status"] == "out"

    last = play_turn(api, gid, 4, [(second, {"dir": "W"}), (third, {"dir": "E"})])

    view = last["game"]
    assert view["status"] == "finished"
    assert view["outcome"] == {
        first["id"]: "lost",
        second["id"]: "won",
        third["id"]: "lost",
    }
    turns = resolved_turns(api, second["token"], gid)
    assert turns[2]["events"] == [
        {"type": "crash", "player": first["id"], "x": 0, "y": -1, "cause": "wall"}
    ]
    assert turns[3]["events"] == [
        {"type": "crash", "player": third["id"], "x": 6, "y": 1, "cause": "wall"},
        {"type": "game_over", "winner": second["id"]},
    ]
    assert set(turns[3]["moves"]) == {second["id"], third["id"]}


def final(result: dict) -> dict:
    return {"final": True, "result": result}


def test_lockstep_agreement(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    gid = game["id"]
    result = {first["id"]: "won", second["id"]: "lost"}

    play_turn(api, gid, 1, [(first, {"board": [1, 2]}), (second, {"board": [3]})])
    last = play_turn(api, gid, 2, [(first, final(result)), (second, final(result))])

    assert last["game"]["status"] == "finished"
    assert last["game"]["outcome"] == result
    turns = resolved_turns(api, first["token"], gid)
    assert turns[1]["events"] == [{"type": "agreement", "result": result}]
    assert turns[0]["moves"] == {
        first["id"]: {"board": [1, 2]},
        second["id"]: {"board": [3]},
    }


def test_lockstep_disagreement_is_draw(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    gid = game["id"]
    mine = {first["id"]: "won", second["id"]: "lost"}
    theirs = {first["id"]: "lost", second["id"]: "won"}

    last = play_turn(api, gid, 1, [(first, final(mine)), (second, final(theirs))])

    assert last["game"]["outcome"] == {first["id"]: "draw", second["id"]: "draw"}
    events = resolved_turns(api, first["token"], gid)[0]["events"]
    assert events == [
        {
            "type": "disagreement",
            "reason": "results_differ",
            "results": {first["id"]: mine, second["id"]: theirs},
        }
    ]


def test_lockstep_invalid_result_is_draw(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    result = {first["id"]: "won"}

    last = play_turn(
        api, game["id"], 1, [(first, final(result)), (second, final(result))]
    )

    assert last["game"]["outcome"] == {first["id"]: "draw", second["id"]: "draw"}
    events = resolved_turns(api, first["token"], game["id"])[0]["events"]
    assert events[0]["reason"] == "invalid_result"


def test_lockstep_one_final_move_plays_on(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    result = {first["id"]: "won", second["id"]: "lost"}

    last = play_turn(api, game["id"], 1, [(first, final(result)), (second, "not yet")])

    assert last["game"]["status"] == "active"
    assert last["game"]["turn"] == 2


def test_lockstep_max_turns_is_draw(api):
    game, (first, second, third) = api.started_game("lockstep", 3, max_turns=2)
    gid = game["id"]
    everyone = [first, second, third]

    middle = play_turn(api, gid, 1, [(p, {"n": 1}) for p in everyone])
    last = play_turn(api, gid, 2, [(p, {"n": 2}) for p in everyone])

    assert middle["game"]["status"] == "active"
    assert last["game"]["status"] == "finished"
    assert last["game"]["turn"] == 2
    assert last["game"]["outcome"] == {p["id"]: "draw" for p in everyone}
    events = resolved_turns(api, first["token"], gid)[1]["events"]
    assert events == [{"type": "max_turns", "turn": 2, "max_turns": 2}]
    late = api.move(first["token"], gid, 3, {"n": 3})
    expect_conflict(late, "game_not_active", turn=2, status="finished")


def test_lockstep_three_players_agree_on_draw(api):
    game, players = api.started_game("lockstep", 3)
    result = {p["id"]: "draw" for p in players}
    result[players[2]["id"]] = "won"

    last = play_turn(api, game["id"], 1, [(p, final(result)) for p in players])

    assert last["game"]["outcome"] == result
