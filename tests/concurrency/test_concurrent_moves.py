"""Both players of a game send their move at the same moment, turn after turn.

Two client processes, one per seat, play GAMES lockstep games at once over
HTTP against gunicorn with several workers. A barrier per game releases
both moves of a turn together, so the two requests race for the game's
lock in different worker processes. The test then checks that every turn
resolved exactly once, with both exact moves, as seen by the clients, by
the turns list and by the storage itself.
"""

from __future__ import annotations

import json
import multiprocessing

from tests.concurrency.clients import move_for, play_seat
from tests.helpers import Api

GAMES = 12
TURNS = 20
# Page size for reading the turns list back, smaller than TURNS so that
# paging with `after` is exercised.
TURNS_PAGE = 4
# Seconds allowed for the client processes to finish all turns.
PLAY_TIMEOUT = 120


def start_games(api: Api) -> list[dict]:
    """Start GAMES lockstep games that end by max_turns after TURNS turns."""
    games = []
    for _ in range(GAMES):
        view, players = api.started_game("lockstep", 2, max_turns=TURNS)
        games.append({"id": view["id"], "players": players, "version": view["version"]})
    return games


def run_seats(server, games: list[dict], tmp_path) -> dict[int, dict]:
    """Play every game from two spawned processes; return each seat's output file."""
    context = multiprocessing.get_context("spawn")
    barriers = [context.Barrier(2) for _ in games]
    processes = {}
    for seat in (0, 1):
        seat_games = [
            {"id": game["id"], "token": game["players"][seat]["token"]}
            for game in games
        ]
        out_path = tmp_path / f"seat-{seat}.json"
        process = context.Process(
            target=play_seat,
            args=(server.url, seat, seat_games, barriers, TURNS, str(out_path)),
            name=f"seat-{seat}",
        )
        process.start()
        processes[seat] = (process, out_path)

    outputs = {}
    for seat, (process, out_path) in processes.items():
        process.join(PLAY_TIMEOUT)
        if process.is_alive():
            process.terminate()
            process.join(10)
        assert process.exitcode == 0, (
            f"seat {seat} process exited with {process.exitcode}"
        )
        outputs[seat] = json.loads(out_path.read_text())
    return outputs


def test_simultaneous_moves_resolve_each_turn_once(
    api, server, server_storage, tmp_path
):
    games = start_games(api)
    outputs = run_seats(server, games, tmp_path)

    for seat, output in outputs.items():
        assert output["errors"] == [], f"seat {seat} client failed:\n" + "\n".join(
            output["errors"]
        )
    responses = {}  # (game id, turn, seat) -> record
    for seat, output in outputs.items():
        for record in output["records"]:
            key = (record["game"], record["turn"], seat)
            assert key not in responses, f"two responses for {key}"
            responses[key] = record
    assert len(responses) == GAMES * TURNS * 2

    server_errors = [r for r in responses.values() if r["status"] >= 500]
    assert server_errors == []
    failed = [r for r in responses.values() if r["status"] != 200]
    assert failed == []

    for game in games:
        check_responses(game, responses)
        check_turns_list(api, game)
        check_final_view(api, game)
        check_storage(server_storage, game)


def check_responses(game: dict, responses: dict) -> None:
    """Check what the two clients of `game` were told, turn by turn."""
    game_id = game["id"]
    player_ids = [player["id"] for player in game["players"]]
    last_version = {0: game["version"], 1: game["version"]}

    for turn in range(1, TURNS + 1):
        pair = {seat: responses[(game_id, turn, seat)]["body"] for seat in (0, 1)}
        for seat, body in pair.items():
            assert body["turn"] == turn, (game_id, seat, body)
            version = body["game"]["version"]
            assert version > last_version[seat], (
                f"game {game_id} seat {seat} turn {turn}: version {version} "
                f"after {last_version[seat]}"
            )
            last_version[seat] = version

        resolving = [seat for seat, body in pair.items() if body["resolved"]]
        assert len(resolving) == 1, (
            f"game {game_id} turn {turn}: resolved by {resolving}"
        )
        winner = resolving[0]
        waiter = 1 - winner
        first_view = pair[waiter]["game"]
        last_view = pair[winner]["game"]

        # The first move in is stored sealed: its sender sees it, and only
        # its sender is listed as submitted.
        assert first_view["turn"] == turn
        assert first_view["your_move"] == move_for(game_id, waiter, turn)
        assert first_view["submitted"] == [player_ids[waiter]]
        assert last_view["version"] > first_view["version"]
        if turn < TURNS:
            assert last_view["status"] == "active"
            assert last_view["turn"] == turn + 1
            assert last_view["submitted"] == []
        else:
            assert last_view["status"] == "finished"
            assert last_view["turn"] == turn


def check_turns_list(api: Api, game: dict) -> None:
    """Page through the turns list and compare every turn's moves."""
    game_id = game["id"]
    token = game["players"][0]["token"]
    player_ids = [player["id"] for player in game["players"]]
    turns = []
    after = 0
    while True:
        response = api.get(
            f"/api/v1/games/{game_id}/turns",
            token,
            params={"after": after, "limit": TURNS_PAGE},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["turns"]:
            assert page["next_after"] == after
            break
        assert page["next_after"] == page["turns"][-1]["number"]
        turns.extend(page["turns"])
        after = page["next_after"]

    assert [turn["number"] for turn in turns] == list(range(1, TURNS + 1))
    for turn in turns:
        expected = {
            player_ids[seat]: move_for(game_id, seat, turn["number"]) for seat in (0, 1)
        }
        assert turn["moves"] == expected, f"game {game_id} turn {turn['number']}"


def check_final_view(api: Api, game: dict) -> None:
    view = api.game(game["players"][1]["token"], game["id"])
    assert view["status"] == "finished"
    assert view["turn"] == TURNS
    assert view["outcome"] == {player["id"]: "draw" for player in game["players"]}
    assert view["version"] > game["version"] + TURNS


def check_storage(storage, game: dict) -> None:
    """Read the committed game and its turn rows straight from storage."""
    game_id = game["id"]
    record = storage.get_game(game_id)
    assert record.resolved_turns == TURNS
    assert record.status == "finished"
    # No turn row beyond the last resolved turn either: read past it.
    rows = storage.list_turns(game_id, 1, TURNS + 10, TURNS + 10)
    assert [row.number for row in rows] == list(range(1, TURNS + 1))
    player_ids = [player["id"] for player in game["players"]]
    for row in rows:
        expected = {
            player_ids[seat]: move_for(game_id, seat, row.number) for seat in (0, 1)
        }
        assert row.moves == expected, f"game {game_id} turn row {row.number}"
