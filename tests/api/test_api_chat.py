"""Chat: posting, client_id retries, text limits, paging, ETag and membership."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.support import chat_path, expect_error, send_raw, snapshot

LINE_FIELDS = {"seq", "player", "text", "sent_at"}


def post(api, player: dict, game_id: str, text: str, **fields):
    return api.post(chat_path(game_id), player["token"], json={"text": text, **fields})


def post_lines(api, player: dict, game_id: str, count: int) -> None:
    for number in range(1, count + 1):
        response = post(api, player, game_id, f"line {number}")
        assert response.status_code == 201, response.text


def page(api, player: dict, game_id: str, query: str = "") -> dict:
    response = api.get(f"{chat_path(game_id)}{query}", player["token"])
    assert response.status_code == 200, response.text
    return response.json()


def seqs(body: dict) -> list[int]:
    return [line["seq"] for line in body["messages"]]


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# -- posting ---------------------------------------------------------------


def test_post_returns_201_line(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = post(api, first, game["id"], "gg")

    assert response.status_code == 201
    line = response.json()
    assert set(line) == LINE_FIELDS
    assert line["seq"] == 1
    assert line["player"] == first["id"]
    assert line["text"] == "gg"
    assert abs(parse_time(line["sent_at"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_seq_starts_at_1_without_gaps(api, lockstep_pair):
    game, (first, second) = lockstep_pair

    numbers = []
    for number in range(6):
        player = first if number % 2 else second
        numbers.append(post(api, player, game["id"], f"n{number}").json()["seq"])

    assert numbers == [1, 2, 3, 4, 5, 6]
    assert seqs(page(api, first, game["id"])) == [1, 2, 3, 4, 5, 6]
    assert api.game(first["token"], game["id"])["chat_seq"] == 6


def test_seq_is_per_game(api):
    game_a, (first, _) = api.started_game("lockstep", 2)
    game_b, (other, _) = api.started_game("lockstep", 2)
    post(api, first, game_a["id"], "a")

    line = post(api, other, game_b["id"], "b").json()

    assert line["seq"] == 1


def test_client_id_retry_returns_original(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    original = post(api, first, game["id"], "hello", client_id="c-17")
    assert original.status_code == 201
    assert original.json()["client_id"] == "c-17"
    before = snapshot(api, first["token"], game["id"])

    retry = post(api, first, game["id"], "hello", client_id="c-17")
    changed = post(api, first, game["id"], "hello again", client_id="c-17")

    assert retry.status_code == 200
    assert retry.json() == original.json()
    assert changed.status_code == 200
    assert changed.json() == original.json()
    assert snapshot(api, first["token"], game["id"]) == before


def test_client_id_is_per_player(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    mine = post(api, first, game["id"], "mine", client_id="same")

    theirs = post(api, second, game["id"], "theirs", client_id="same")

    assert mine.status_code == 201
    assert theirs.status_code == 201
    assert theirs.json()["seq"] == 2


def test_client_id_64_chars_accepted(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = post(api, first, game["id"], "x", client_id="é" * 64)

    assert response.status_code == 201
    assert response.json()["client_id"] == "é" * 64


@pytest.mark.parametrize(
    "client_id",
    ["c" * 65, "é" * 65, "", 17, 1.5, True, ["c-1"], {"id": "c-1"}, "tab\there"],
    ids=[
        "65",
        "65-multibyte",
        "empty",
        "int",
        "float",
        "bool",
        "list",
        "object",
        "control",
    ],
)
def test_bad_client_id_is_400(api, lockstep_pair, client_id):
    game, (first, _second) = lockstep_pair

    response = post(api, first, game["id"], "x", client_id=client_id)

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "client_id"
    assert api.game(first["token"], game["id"])["chat_seq"] == 0


@pytest.mark.parametrize(
    "text",
    ["a" * 2000, "😀" * 2000, "é" * 2000, "日本" * 1000],
    ids=["ascii", "emoji", "latin", "cjk"],
)
def test_text_of_2000_chars_accepted(api, lockstep_pair, text):
    game, (first, _second) = lockstep_pair

    response = post(api, first, game["id"], text)

    assert response.status_code == 201
    assert response.json()["text"] == text
    assert page(api, first, game["id"])["messages"][0]["text"] == text


@pytest.mark.parametrize(
    "text",
    ["a" * 2001, "😀" * 2001, "é" * 2001, "a" * 20000],
    ids=["ascii", "emoji", "latin", "ten-times"],
)
def test_text_over_2000_chars_is_400(api, lockstep_pair, text):
    game, (first, _second) = lockstep_pair

    response = post(api, first, game["id"], text)

    details = expect_error(response, 400, "text_too_long")
    assert details["limit"] == 2000
    assert details["field"] == "text"
    assert api.game(first["token"], game["id"])["chat_seq"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {},
        {"text": None},
        {"text": 5},
        {"text": ["gg"]},
        {"text": {"t": 1}},
    ],
    ids=["empty", "missing", "null", "int", "list", "object"],
)
def test_bad_text_is_400(api, lockstep_pair, body):
    game, (first, _second) = lockstep_pair

    response = api.post(chat_path(game["id"]), first["token"], json=body)

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "text"
    assert api.game(first["token"], game["id"])["chat_seq"] == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"text": "\\ud800"}', b'{"text": "a\\udfffb"}', b'{"text": "\\ude00\\ud83d"}'],
    ids=["high", "low", "reversed-pair"],
)
def test_unpaired_surrogate_is_400(api, lockstep_pair, raw):
    game, (first, _second) = lockstep_pair

    response = send_raw(api, "POST", chat_path(game["id"]), first["token"], raw)

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == "text"
    assert api.game(first["token"], game["id"])["chat_seq"] == 0


def test_escaped_surrogate_pair_is_one_char(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = send_raw(
        api,
        "POST",
        chat_path(game["id"]),
        first["token"],
        b'{"text": "\\ud83e\\udd93"}',
    )

    assert response.status_code == 201
    assert response.json()["text"] == "🦓"


def test_multibyte_line_of_1025_bytes_comes_back_exact(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    text = "€" * 341 + "é"
    assert len(text.encode("utf-8")) == 1025

    posted = post(api, first, game["id"], text).json()

    assert posted["text"] == text
    assert page(api, second, game["id"])["messages"][0]["text"] == text


def test_text_keeps_whitespace_and_combining_marks(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    text = "  e\u0301 \n\tZ\u200dW  "

    posted = post(api, first, game["id"], text).json()

    assert posted["text"] == text


def test_client_fields_are_ignored(api, lockstep_pair):
    game, (first, second) = lockstep_pair

    body = {
        "text": "hi",
        "sent_at": "1999-01-01T00:00:00Z",
        "seq": 99,
        "player": second["id"],
    }

    response = api.post(chat_path(game["id"]), first["token"], json=body)

    line = response.json()
    assert response.status_code == 201
    assert line["seq"] == 1
    assert line["player"] == first["id"]
    assert not line["sent_at"].startswith("1999")
    assert abs(parse_time(line["sent_at"]) - datetime.now(UTC)) < timedelta(minutes=5)


def test_sent_at_follows_seq(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    post_lines(api, first, game["id"], 3)
    post_lines(api, second, game["id"], 2)

    times = [
        parse_time(line["sent_at"]) for line in page(api, first, game["id"])["messages"]
    ]

    assert times == sorted(times)


# -- reading ---------------------------------------------------------------


def test_no_cursor_returns_latest_lines(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    post_lines(api, first, game["id"], 7)

    body = page(api, first, game["id"], "?limit=3")

    assert seqs(body) == [5, 6, 7]
    assert body["next_after"] == 7
    assert [line["text"] for line in body["messages"]] == ["line 5", "line 6", "line 7"]


def test_after_returns_newer_lines(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    post_lines(api, first, game["id"], 7)

    newer = page(api, first, game["id"], "?after=5")
    capped = page(api, first, game["id"], "?after=1&limit=2")
    none = page(api, first, game["id"], "?after=7")
    zero = page(api, first, game["id"], "?after=0")

    assert seqs(newer) == [6, 7]
    assert newer["next_after"] == 7
    assert seqs(capped) == [2, 3]
    assert capped["next_after"] == 3
    assert none == {"messages": [], "next_after": 7}
    assert seqs(zero) == [1, 2, 3, 4, 5, 6, 7]


def test_before_returns_older_lines(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    post_lines(api, first, game["id"], 7)

    older = page(api, first, game["id"], "?before=5&limit=2")
    all_older = page(api, first, game["id"], "?before=5")
    none = page(api, first, game["id"], "?before=1")
    past_end = page(api, first, game["id"], "?before=100&limit=2")

    assert seqs(older) == [3, 4]
    assert seqs(all_older) == [1, 2, 3, 4]
    assert none["messages"] == []
    assert seqs(past_end) == [6, 7]


def test_empty_chat(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    body = page(api, first, game["id"])

    assert body == {"messages": [], "next_after": 0}


def test_limit_default_50_and_max_100(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    post_lines(api, first, game["id"], 103)

    default = page(api, first, game["id"])
    most = page(api, first, game["id"], "?limit=100")
    from_start = page(api, first, game["id"], "?after=0")

    assert seqs(default) == list(range(54, 104))
    assert seqs(most) == list(range(4, 104))
    assert seqs(from_start) == list(range(1, 51))
    assert from_start["next_after"] == 50


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=-5",
        "limit=ten",
        "limit=",
        "limit=99999999999999999999999",
        "after=-1",
        "after=x",
        "after=",
        "after=1.0",
        "after=99999999999999999999999",
        "before=0",
        "before=-1",
        "before=y",
        "before=",
        "before=99999999999999999999999",
    ],
)
def test_bad_query_is_400(api, lockstep_pair, query):
    game, (first, _second) = lockstep_pair

    response = api.get(f"{chat_path(game['id'])}?{query}", first["token"])

    details = expect_error(response, 400, "invalid_request")
    assert details["field"] == query.split("=")[0]


def test_after_and_before_together_is_400(api, lockstep_pair):
    game, (first, _second) = lockstep_pair

    response = api.get(f"{chat_path(game['id'])}?after=1&before=3", first["token"])

    expect_error(response, 400, "invalid_request")


def test_if_none_match_is_304(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    post_lines(api, first, game["id"], 2)
    etag = api.get(chat_path(game["id"]), second["token"]).headers["ETag"]

    response = api.get(
        chat_path(game["id"]), second["token"], headers={"If-None-Match": etag}
    )

    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["ETag"] == etag


def test_etag_changes_after_new_line(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    post_lines(api, first, game["id"], 1)
    etag = api.get(chat_path(game["id"]), second["token"]).headers["ETag"]
    post(api, first, game["id"], "new")

    response = api.get(
        f"{chat_path(game['id'])}?after=1",
        second["token"],
        headers={"If-None-Match": etag},
    )

    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert [line["text"] for line in response.json()["messages"]] == ["new"]


# -- membership and lifetime -----------------------------------------------


def test_non_member_read_is_403(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    post(api, first, game["id"], "members only")
    outsider = api.new_player()

    response = api.get(chat_path(game["id"]), outsider["token"])

    expect_error(response, 403, "not_a_member")
    assert "members only" not in response.text


def test_non_member_post_is_403(api, lockstep_pair):
    game, (first, _second) = lockstep_pair
    outsider = api.new_player()

    response = post(api, outsider, game["id"], "let me in")

    expect_error(response, 403, "not_a_member")
    assert api.game(first["token"], game["id"])["chat_seq"] == 0


def test_waiting_game_host_can_chat(api):
    host = api.new_player()
    game = api.new_game(host["token"], "rps", 2)

    response = post(api, host, game["id"], "anyone?")

    assert response.status_code == 201
    assert api.game(host["token"], game["id"])["chat_seq"] == 1


def test_chat_open_after_game_finished(api, lockstep_pair):
    game, (first, second) = lockstep_pair
    resigned = api.post(f"/api/v1/games/{game['id']}/resign", first["token"])
    assert resigned.json()["status"] == "finished"

    by_winner = post(api, second, game["id"], "gg")
    by_resigned = post(api, first, game["id"], "gg wp")

    assert by_winner.status_code == 201
    assert by_resigned.status_code == 201
    assert seqs(page(api, first, game["id"])) == [1, 2]
