"""Games: create, list, the open list, join, the game view and its ETag."""

from __future__ import annotations

import uuid

import pytest

from tests.api.support import chat_path, expect_conflict, expect_error, move_path

GAMES = "/api/v1/games"
VIEW_FIELDS = {
    "id",
    "ruleset",
    "options",
    "status",
    "players",
    "turn",
    "submitted",
    "your_move",
    "state",
    "chat_seq",
    "outcome",
    "version",
    "updated_at",
}
SUMMARY_FIELDS = {
    "id",
    "ruleset",
    "status",
    "turn",
    "players",
    "your_move_needed",
    "version",
    "updated_at",
}


def game_path(game_id: str) -> str:
    return f"{GAMES}/{game_id}"


# -- create --------------------------------------------------------------


def test_create_game_returns_201_and_view(api):
    player = api.new_player("Host")

    response = api.post(
        GAMES, player["token"], json={"ruleset": "rps", "seats": 2, "options": {}}
    )

    assert response.status_code == 201
    view = response.json()
    assert set(view) >= VIEW_FIELDS
    assert str(uuid.UUID(view["id"])) == view["id"]
    assert view["ruleset"] == "rps"
    assert view["status"] == "waiting"
    assert view["turn"] == 0
    assert view["players"] == [
        {"id": player["id"], "name": "Host", "seat": 0, "status": "active", "missed": 0}
    ]
    assert view["submitted"] == []
    assert view["your_move"] is None
    assert view["chat_seq"] == 0
    assert view["outcome"] is None
    assert view["options"]["rounds"] == 3
    assert response.headers["ETag"] == f'"{view["version"]}"'


def test_created_game_can_be_fetched(api):
    player = api.new_player()
    created = api.new_game(player["token"], "lightcycles", 3, width=8, height=6)

    view = api.game(player["token"], created["id"])

    assert view == created


@pytest.mark.parametrize(
    ("ruleset", "seats", "options", "expected"),
    [
        ("rps", 2, {"rounds": 5}, {"rounds": 5}),
        ("lightcycles", 4, {"width": 4, "height": 64}, {"width": 4, "height": 64}),
        ("lightcycles", 2, {}, {"width": 16, "height": 16}),
        ("lockstep", 16, {"max_turns": 7}, {"max_turns": 7}),
        ("lockstep", 2, {}, {"max_turns": 0}),
    ],
)
def test_create_fills_options(api, ruleset, seats, options, expected):
    player = api.new_player()

    view = api.new_game(player["token"], ruleset, seats, **options)

    for key, value in expected.items():
        assert view["options"][key] == value
    assert view["status"] == "waiting"


def test_create_without_seats_uses_minimum(api):
    player = api.new_player()

    response = api.post(GAMES, player["token"], json={"ruleset": "lockstep"})

    assert response.status_code == 201
    assert response.json()["seats"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ruleset": "chess", "seats": 2}, "ruleset"),
        ({"ruleset": "RPS", "seats": 2}, "ruleset"),
        ({"ruleset": "", "seats": 2}, "ruleset"),
        ({"seats": 2}, "ruleset"),
        ({"ruleset": None, "seats": 2}, "ruleset"),
        ({"ruleset": 5, "seats": 2}, "ruleset"),
        ({"ruleset": ["rps"], "seats": 2}, "ruleset"),
        ({"ruleset": "rps", "seats": 3}, "seats"),
        ({"ruleset": "rps", "seats": 1}, "seats"),
        ({"ruleset": "rps", "seats": 0}, "seats"),
        ({"ruleset": "rps", "seats": -1}, "seats"),
        ({"ruleset": "rps", "seats": "2"}, "seats"),
        ({"ruleset": "rps", "seats": 2.5}, "seats"),
        ({"ruleset": "rps", "seats": True}, "seats"),
        ({"ruleset": "rps", "seats": [2]}, "seats"),
        ({"ruleset": "lightcycles", "seats": 5}, "seats"),
        ({"ruleset": "lockstep", "seats": 17}, "seats"),
        ({"ruleset": "rps", "seats": 2, "options": []}, "options"),
        ({"ruleset": "rps", "seats": 2, "options": "rounds=3"}, "options"),
        ({"ruleset": "rps", "seats": 2, "options": {"rounds": 4}}, "options.rounds"),
        ({"ruleset": "rps", "seats": 2, "options": {"rounds": "3"}}, "options.rounds"),
        ({"ruleset": "rps", "seats": 2, "options": {"rounds": 101}}, "options.rounds"),
        (
            {"ruleset": "rps", "seats": 2, "options": {"colour": "red"}},
            "options.colour",
        ),
        (
            {"ruleset": "lightcycles", "seats": 2, "options": {"width": 3}},
            "options.width",
        ),
        (
            {"ruleset": "lightcycles", "seats": 2, "options": {"height": 65}},
            "options.height",
        ),
        (
            {"ruleset": "lightcycles", "seats": 2, "options": {"width": 8.0}},
            "options.width",
        ),
        (
            {"ruleset": "lockstep", "seats": 2, "options": {"max_turns": -1}},
            "options.max_turns",
        ),
        (
            {"ruleset": "lockstep", "seats": 2, "options": {"max_turns": None}},
            "options.max_turns",
        ),
        (
            {"ruleset": "rps", "seats": 2, "options": {"turn_seconds": 9}},
            "options.turn_seconds",
        ),
        (
            {"ruleset": "rps", "seats": 2, "options": {"on_timeout": "x"}},
            "options.on_timeout",
        ),
        (
            {"ruleset": "rps", "seats": 2, "options": {"max_missed": 0}},
            "options.max_missed",
        ),
    ],
)
def test_create_bad_request_is_400(api, body, field):
    player = api.new_player()

    response = api.post(GAMES, player["token"], json=body)

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == field
    assert api.get(GAMES, player["token"]).json()["games"] == []


# -- list ----------------------------------------------------------------


def test_list_is_grouped_and_newest_first(api):
    me = api.new_player()
    rival = api.new_player()
    token = me["token"]

    def started(ruleset="lockstep"):
        game = api.new_game(token, ruleset, 2)
        api.join(rival["token"], game["id"])
        return game["id"]

    finished_old = started()
    assert api.post(f"{game_path(finished_old)}/resign", token).status_code == 200
    awaiting_old = started()
    waiting_old = api.new_game(token, "lockstep", 2)["id"]
    moved_old = started()
    assert api.move(token, moved_old, 1, "mine").status_code == 200
    finished_new = started()
    assert (
        api.post(f"{game_path(finished_new)}/resign", rival["token"]).status_code == 200
    )
    awaiting_new = started()
    waiting_new = api.new_game(token, "rps", 2)["id"]
    moved_new = started()
    assert api.move(token, moved_new, 1, "mine").status_code == 200

    response = api.get(GAMES, token)

    assert response.status_code == 200
    ids = [summary["id"] for summary in response.json()["games"]]
    assert ids == [
        awaiting_new,
        awaiting_old,
        moved_new,
        moved_old,
        waiting_new,
        waiting_old,
        finished_new,
        finished_old,
    ]


def test_list_summary_fields(api):
    game, (first, second) = api.started_game("rps")
    assert api.move(first["token"], game["id"], 1, {"throw": "rock"}).status_code == 200

    first_list = api.get(GAMES, first["token"]).json()["games"]
    second_list = api.get(GAMES, second["token"]).json()["games"]

    assert len(first_list) == 1
    summary = first_list[0]
    assert set(summary) >= SUMMARY_FIELDS
    assert summary["id"] == game["id"]
    assert summary["ruleset"] == "rps"
    assert summary["status"] == "active"
    assert summary["turn"] == 1
    assert [p["id"] for p in summary["players"]] == [first["id"], second["id"]]
    assert summary["your_move_needed"] is False
    assert summary["version"] == api.game(first["token"], game["id"])["version"]
    assert second_list[0]["your_move_needed"] is True


def test_your_move_needed_false_when_waiting_or_finished(api):
    me = api.new_player()
    rival = api.new_player()
    waiting = api.new_game(me["token"], "rps", 2)
    finished = api.new_game(me["token"], "rps", 2)
    api.join(rival["token"], finished["id"])
    assert (
        api.post(f"{game_path(finished['id'])}/resign", me["token"]).status_code == 200
    )

    games = api.get(GAMES, me["token"]).json()["games"]

    by_id = {summary["id"]: summary for summary in games}
    assert by_id[waiting["id"]]["your_move_needed"] is False
    assert by_id[finished["id"]]["your_move_needed"] is False
    assert by_id[finished["id"]]["status"] == "finished"


def test_list_of_new_player_is_empty(api):
    player = api.new_player()

    response = api.get(GAMES, player["token"])

    assert response.status_code == 200
    assert response.json() == {"games": []}


def test_list_bad_view_is_400(api):
    player = api.new_player()

    response = api.get(f"{GAMES}?view=closed", player["token"])

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "view"


# -- open games ------------------------------------------------------------


def test_open_list_shows_joinable_games(fresh_api):
    host = fresh_api.new_player()
    seeker = fresh_api.new_player()
    joinable = fresh_api.new_game(host["token"], "lightcycles", 3)
    own = fresh_api.new_game(seeker["token"], "rps", 2)
    full = fresh_api.new_game(host["token"], "rps", 2)
    fresh_api.join(fresh_api.new_player()["token"], full["id"])
    finished = fresh_api.new_game(host["token"], "lockstep", 2)
    fresh_api.join(fresh_api.new_player()["token"], finished["id"])
    resign = fresh_api.post(f"{game_path(finished['id'])}/resign", host["token"])
    assert resign.status_code == 200

    response = fresh_api.get(f"{GAMES}?view=open", seeker["token"])

    assert response.status_code == 200
    games = response.json()["games"]
    ids = [summary["id"] for summary in games]
    assert joinable["id"] in ids
    assert own["id"] not in ids
    assert full["id"] not in ids
    assert finished["id"] not in ids
    summary = games[ids.index(joinable["id"])]
    assert set(summary) >= SUMMARY_FIELDS
    assert summary["status"] == "waiting"
    assert summary["your_move_needed"] is False


def test_open_list_drops_game_once_full(fresh_api):
    host = fresh_api.new_player()
    seeker = fresh_api.new_player()
    game = fresh_api.new_game(host["token"], "lockstep", 2)
    before = fresh_api.get(f"{GAMES}?view=open", seeker["token"]).json()["games"]
    assert game["id"] in [summary["id"] for summary in before]

    fresh_api.join(fresh_api.new_player()["token"], game["id"])

    after = fresh_api.get(f"{GAMES}?view=open", seeker["token"]).json()["games"]
    assert game["id"] not in [summary["id"] for summary in after]


def test_open_list_keeps_partly_filled_game(fresh_api):
    host = fresh_api.new_player()
    game = fresh_api.new_game(host["token"], "lockstep", 3)
    fresh_api.join(fresh_api.new_player()["token"], game["id"])

    seeker = fresh_api.new_player()
    games = fresh_api.get(f"{GAMES}?view=open", seeker["token"]).json()["games"]

    assert game["id"] in [summary["id"] for summary in games]


# -- join ------------------------------------------------------------------


def test_join_seats_player_and_starts_game(api):
    host = api.new_player()
    guest = api.new_player("Guest")
    game = api.new_game(host["token"], "rps", 2)

    response = api.post(f"{game_path(game['id'])}/join", guest["token"])

    assert response.status_code == 200
    view = response.json()
    assert view["status"] == "active"
    assert view["turn"] == 1
    assert view["players"][1] == {
        "id": guest["id"],
        "name": "Guest",
        "seat": 1,
        "status": "active",
        "missed": 0,
    }
    assert view["state"]["round"] == 1
    assert view["version"] > game["version"]
    assert response.headers["ETag"] == f'"{view["version"]}"'


def test_join_starts_only_on_last_seat(api):
    host = api.new_player()
    game = api.new_game(host["token"], "lightcycles", 3)

    second = api.join(api.new_player()["token"], game["id"])
    third = api.join(api.new_player()["token"], game["id"])

    assert second["status"] == "waiting"
    assert second["turn"] == 0
    assert third["status"] == "active"
    assert third["turn"] == 1
    assert [p["seat"] for p in third["players"]] == [0, 1, 2]


def test_join_again_is_noop(api):
    host = api.new_player()
    guest = api.new_player()
    game = api.new_game(host["token"], "lockstep", 3)
    first = api.join(guest["token"], game["id"])

    response = api.post(f"{game_path(game['id'])}/join", guest["token"])

    assert response.status_code == 200
    assert response.json()["version"] == first["version"]
    assert len(response.json()["players"]) == 2


def test_host_join_is_noop(api):
    host = api.new_player()
    game = api.new_game(host["token"], "rps", 2)

    response = api.post(f"{game_path(game['id'])}/join", host["token"])

    assert response.status_code == 200
    assert response.json()["version"] == game["version"]
    assert response.json()["status"] == "waiting"


def test_join_started_game_by_member_is_noop(api):
    game, (first, _second) = api.started_game("rps")

    response = api.post(f"{game_path(game['id'])}/join", first["token"])

    assert response.status_code == 200
    assert response.json()["version"] == game["version"]


def test_join_full_game_is_409(api):
    game, _players = api.started_game("rps")
    outsider = api.new_player()

    response = api.post(f"{game_path(game['id'])}/join", outsider["token"])

    expect_conflict(response, "game_full", turn=1, status="active")
    assert api.game(outsider["token"], game["id"])["version"] == game["version"]


def test_join_finished_game_is_409(api):
    game, (first, _second) = api.started_game("rps")
    assert (
        api.post(f"{game_path(game['id'])}/resign", first["token"]).status_code == 200
    )
    outsider = api.new_player()

    response = api.post(f"{game_path(game['id'])}/join", outsider["token"])

    expect_conflict(response, "game_full", turn=1, status="finished")


def test_join_unknown_game_is_404(api):
    player = api.new_player()

    response = api.post(f"{game_path(uuid.uuid4())}/join", player["token"])

    expect_error(response, 404, "not_found")


# -- game view and ETag ----------------------------------------------------


def test_view_shows_own_move_only(api):
    game, (first, second) = api.started_game("rps")
    assert (
        api.move(first["token"], game["id"], 1, {"throw": "paper"}).status_code == 200
    )

    mine = api.game(first["token"], game["id"])
    theirs = api.game(second["token"], game["id"])

    assert mine["your_move"] == {"throw": "paper"}
    assert mine["submitted"] == [first["id"]]
    assert theirs["your_move"] is None
    assert theirs["submitted"] == [first["id"]]


def test_view_etag_matches_version(api):
    game, (first, _second) = api.started_game("rps")

    response = api.get(game_path(game["id"]), first["token"])

    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{response.json()["version"]}"'


def test_if_none_match_current_is_304(api):
    game, (first, _second) = api.started_game("rps")
    etag = api.get(game_path(game["id"]), first["token"]).headers["ETag"]

    response = api.get(
        game_path(game["id"]), first["token"], headers={"If-None-Match": etag}
    )

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag


def test_if_none_match_weak_and_list_is_304(api):
    game, (first, _second) = api.started_game("rps")
    etag = api.get(game_path(game["id"]), first["token"]).headers["ETag"]

    weak = api.get(
        game_path(game["id"]), first["token"], headers={"If-None-Match": f"W/{etag}"}
    )
    listed = api.get(
        game_path(game["id"]), first["token"], headers={"If-None-Match": f'"0", {etag}'}
    )

    assert weak.status_code == 304
    assert listed.status_code == 304


def test_if_none_match_stale_is_200(api):
    game, (first, _second) = api.started_game("rps")

    response = api.get(
        game_path(game["id"]), first["token"], headers={"If-None-Match": '"1"'}
    )

    assert response.status_code == 200
    assert response.json()["id"] == game["id"]


def test_etag_changes_after_move(api):
    game, (first, second) = api.started_game("rps")
    etag = api.get(game_path(game["id"]), second["token"]).headers["ETag"]
    assert api.move(first["token"], game["id"], 1, {"throw": "rock"}).status_code == 200

    response = api.get(
        game_path(game["id"]), second["token"], headers={"If-None-Match": etag}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.json()["version"] > game["version"]


def test_etag_changes_after_chat_line(api):
    game, (first, second) = api.started_game("rps")
    etag = api.get(game_path(game["id"]), second["token"]).headers["ETag"]
    assert (
        api.post(chat_path(game["id"]), first["token"], json={"text": "hi"}).status_code
        == 201
    )

    response = api.get(
        game_path(game["id"]), second["token"], headers={"If-None-Match": etag}
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert response.json()["chat_seq"] == 1


def test_etag_changes_after_join_and_resign(api):
    host = api.new_player()
    guest = api.new_player()
    game = api.new_game(host["token"], "rps", 2)
    etags = [api.get(game_path(game["id"]), host["token"]).headers["ETag"]]

    api.join(guest["token"], game["id"])
    etags.append(api.get(game_path(game["id"]), host["token"]).headers["ETag"])
    assert (
        api.post(f"{game_path(game['id'])}/resign", guest["token"]).status_code == 200
    )
    etags.append(api.get(game_path(game["id"]), host["token"]).headers["ETag"])

    assert len(set(etags)) == 3


def test_view_of_unknown_game_is_404(api):
    player = api.new_player()

    response = api.get(game_path(uuid.uuid4()), player["token"])

    expect_error(response, 404, "not_found")


MALFORMED_IDS = [
    "not-a-uuid",
    "12345",
    "00000000-0000-0000-0000-00000000000",
    "00000000-0000-0000-0000-0000000000000",
    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    "%00",
    "%F0%9F%A6%93",
    "..%2F..%2Fetc",
    "' OR 1=1 --",
    "x" * 300,
]


@pytest.mark.parametrize("game_id", MALFORMED_IDS)
@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("GET", ""),
        ("POST", "/join"),
        ("POST", "/resign"),
        ("GET", "/turns"),
        ("PUT", "/turns/1/move"),
        ("GET", "/chat"),
        ("POST", "/chat"),
    ],
)
def test_malformed_id_is_404(api, method, suffix, game_id):
    player = api.new_player()

    response = api.request(
        method,
        f"{GAMES}/{game_id}{suffix}",
        player["token"],
        json={"move": 1, "text": "x"},
    )

    expect_error(response, 404, "not_found")


def upper_first_letter(game_id: str) -> str:
    index = next(i for i, char in enumerate(game_id) if char in "abcdef")
    return game_id[:index] + game_id[index].upper() + game_id[index + 1 :]


@pytest.mark.parametrize(
    "to_case", [str.upper, upper_first_letter], ids=["upper", "mixed"]
)
def test_game_id_in_any_case(api, to_case):
    # iOS's UUID().uuidString is uppercase.
    host, guest = api.new_player(), api.new_player()
    game = api.new_game(host["token"])
    game_id = to_case(game["id"])

    joined = api.post(f"{game_path(game_id)}/join", guest["token"])
    viewed = api.get(game_path(game_id), host["token"])
    moved = api.put(
        move_path(game_id, 1), host["token"], json={"move": {"throw": "rock"}}
    )
    posted = api.post(chat_path(game_id), host["token"], json={"text": "hi"})
    turns = api.get(f"{game_path(game_id)}/turns", host["token"])

    assert game_id != game["id"]
    assert joined.status_code == 200, joined.text
    assert joined.json()["id"] == game["id"]
    assert viewed.status_code == 200, viewed.text
    assert viewed.json()["id"] == game["id"]
    assert moved.status_code == 200, moved.text
    assert moved.json()["game"]["id"] == game["id"]
    assert posted.status_code == 201, posted.text
    assert turns.status_code == 200, turns.text


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "/join", None),
        ("POST", "/resign", None),
        ("GET", "/turns", None),
        ("PUT", "/turns/1/move", {"move": 1}),
        ("GET", "/chat", None),
        ("POST", "/chat", {"text": "hello"}),
    ],
)
def test_unknown_game_is_404(api, method, suffix, body):
    player = api.new_player()

    response = api.request(
        method, f"{game_path(uuid.uuid4())}{suffix}", player["token"], json=body
    )

    expect_error(response, 404, "not_found")


def test_turn_in_path_not_a_number_is_404(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    for turn in ("one", "-1", "1.0", "%201"):
        response = api.put(
            move_path(game["id"], turn), first["token"], json={"move": 1}
        )
        expect_error(response, 404, "not_found")
