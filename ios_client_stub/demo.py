"""The demo command: two simulated phones, Ada and Grace, play against a server.

Each phone runs in its own thread with its own client and HTTP session. Ada
hosts a best-of-three rps game that Grace finds in the open list and joins.
Then Grace hosts a lightcycles game that Ada joins. Then both use
matchmaking for a one-round rps game and meet in it. When it ends, Ada
requests a rematch, which Grace finds in her game list as an invitation and
accepts. Both phones decide their own moves, poll the game view with ETags
until each turn resolves, and chat along the way. At the end the main
thread pages back through each game's chat with ``before`` and checks the
conditional GETs.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import requests

from .client import LockstepClient
from .errors import ApiError, PollTimeout
from .phone import DemoAborted, DemoFailure, Phone, Table, Transcript

RPS_OPTIONS = {"rounds": 3}
MATCH_ROUNDS = 1
# Tied rounds are replayed, so a best of three can take more than three turns.
RPS_MAX_TURNS = 40
# Lines per page when printing the final chat, small so that paging shows.
CHAT_PAGE_LIMIT = 3

# Failures that describe_failure explains in one line. Any other exception
# points to a bug or an unexpected response shape, so its traceback is printed.
EXPLAINED_FAILURES = (DemoFailure, ApiError, PollTimeout, requests.RequestException)


@dataclass(frozen=True)
class DemoConfig:
    """Settings of one demo run. Times are in seconds."""

    server: str = "http://127.0.0.1:8000"
    seed: int = 1
    grid_size: int = 10
    poll_max_wait: float = 30.0
    run_timeout: float = 120.0


def run_demo(config: DemoConfig, stream: TextIO = sys.stdout) -> int:
    """Run the demo and return the process exit status: 0 on success, 1 on failure."""
    transcript = Transcript(stream)
    try:
        health = LockstepClient(config.server).health()
        transcript.say("demo", f"server {config.server} is healthy: {health}")
        phones = _play_games(config, transcript)
        _check_chats_and_caching(phones[0], transcript)
    except Exception as error:
        if not isinstance(error, EXPLAINED_FAILURES):
            traceback.print_exception(error, file=sys.stderr)
        print(f"demo failed: {describe_failure(error, config.server)}", file=sys.stderr)
        return 1

    for phone in phones:
        stats = phone.client.stats
        transcript.say(
            phone.name,
            f"{stats['requests']} HTTP requests, {stats['not_modified']} of them "
            f"304 Not Modified, {stats['retries']} retries",
        )
    transcript.say("demo", "finished without unexpected responses")
    return 0


def describe_failure(error: BaseException, server: str) -> str:
    """Return a one-line explanation of an error that ended the demo."""
    if isinstance(error, DemoFailure):
        return str(error)
    if isinstance(error, ApiError):
        if error.status >= 500:
            return f"server error: {error}"
        return f"unexpected response: {error}"
    if isinstance(error, requests.ConnectionError):
        return (
            f"cannot connect to {server} ({error}). Start the server or pass "
            "--server with its address."
        )
    if isinstance(error, requests.Timeout):
        return f"request to {server} timed out ({error})"
    if isinstance(error, PollTimeout):
        return f"timed out waiting: {error}"
    return f"unexpected {type(error).__name__}: {error}"


def _play_games(config: DemoConfig, transcript: Transcript) -> list[Phone]:
    """Run both phones' scripts in parallel threads and return the phones."""
    table = Table(transcript, match_options=_private_match_options())
    ada = Phone("Ada", table, config.server, config.seed, config.poll_max_wait)
    grace = Phone("Grace", table, config.server, config.seed, config.poll_max_wait)
    scripts: list[tuple[Phone, Callable[[Phone, DemoConfig], None]]] = [
        (ada, _script_ada),
        (grace, _script_grace),
    ]
    threads = [
        threading.Thread(
            target=_run_script,
            args=(phone, script, config),
            name=phone.name,
            daemon=True,
        )
        for phone, script in scripts
    ]
    deadline = time.monotonic() + config.run_timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        table.stop.set()
        raise DemoFailure(f"the phones did not finish within {config.run_timeout:g} s")

    failed = [phone for phone in (ada, grace) if phone.error is not None]
    # A phone stopped by the other's failure is not the cause, so report the first
    # failure that is not DemoAborted.
    failed.sort(key=lambda phone: isinstance(phone.error, DemoAborted))
    if failed:
        phone = failed[0]
        error = phone.error
        if not isinstance(error, EXPLAINED_FAILURES):
            traceback.print_exception(error, file=sys.stderr)
        raise DemoFailure(f"[{phone.name}] {describe_failure(error, config.server)}")
    return [ada, grace]


def _run_script(
    phone: Phone, script: Callable[[Phone, DemoConfig], None], config: DemoConfig
) -> None:
    try:
        script(phone, config)
    except Exception as error:
        phone.error = error
        phone.table.stop.set()
        phone.table.meeting.abort()


def _script_ada(phone: Phone, config: DemoConfig) -> None:
    _register_and_meet(phone)

    rps = phone.host("rps", RPS_OPTIONS)
    phone.games["rps"] = rps
    phone.chat(rps, "Hi Grace! Best of three?")
    view = phone.play(rps, narrate=True, max_turns=RPS_MAX_TURNS)
    _report_outcome(phone, view)
    phone.chat(rps, _farewell(phone, view))

    lightcycles = phone.join_hosted("lightcycles", host_name="Grace")
    phone.games["lightcycles"] = lightcycles
    phone.chat(lightcycles, "Ready when you are.")
    view = phone.play(
        lightcycles, narrate=False, max_turns=config.grid_size * config.grid_size
    )
    phone.chat(lightcycles, _farewell(phone, view))

    _play_matchmade_and_rematch(phone, asks_first=True)


def _script_grace(phone: Phone, config: DemoConfig) -> None:
    _register_and_meet(phone)

    rps = phone.join_hosted("rps", host_name="Ada")
    phone.games["rps"] = rps
    phone.expect_invalid_move(rps, 1, {"throw": "lizard"})
    phone.chat(rps, "Привет, Ada! Good luck, 祝你好运 🎲")

    def after_turn(turn: int) -> None:
        if turn == 1:
            phone.repeat_chat(rps, "Wi-Fi dropped, sending this twice 📶")

    view = phone.play(
        rps, narrate=False, max_turns=RPS_MAX_TURNS, on_resolved=after_turn
    )
    phone.chat(rps, _farewell(phone, view))

    size = config.grid_size
    lightcycles = phone.host("lightcycles", {"width": size, "height": size})
    phone.games["lightcycles"] = lightcycles
    phone.chat(lightcycles, f"Light cycles on a {size}x{size} grid. Don't box me in 🏍️")
    view = phone.play(lightcycles, narrate=True, max_turns=size * size)
    phone.say("final board:\n" + render_board(view))
    _report_outcome(phone, view)
    phone.chat(lightcycles, _farewell(phone, view))

    _play_matchmade_and_rematch(phone, asks_first=False)


def _private_match_options() -> dict[str, Any]:
    """Return rps options for matchmaking that only this demo run uses.

    Matchmaking seats a player in any waiting game with the same settings,
    so a turn time drawn at random keeps the two phones from being matched
    with players of another run on the same server.
    """
    turn_seconds = 86_400 + uuid.uuid4().int % 1_000_000
    return {"rounds": MATCH_ROUNDS, "turn_seconds": turn_seconds}


def _play_matchmade_and_rematch(phone: Phone, asks_first: bool) -> None:
    """Meet the other phone through matchmaking, play, then play the rematch."""
    matched = phone.matchmake("rps", phone.table.match_options)
    phone.games["matchmade rps"] = matched
    phone.chat(matched, "Found you through matchmaking!")
    view = phone.play(matched, narrate=asks_first, max_turns=RPS_MAX_TURNS)
    _report_outcome(phone, view)

    if asks_first:
        rematch = phone.rematch(matched)
    else:
        invitation = phone.await_invitation("Ada")
        rematch = phone.rematch(matched)
        if rematch != invitation:
            raise DemoFailure(
                f"the rematch of game {matched} is {rematch}, but the invitation "
                f"was to game {invitation}"
            )
    phone.games["rematch rps"] = rematch
    view = phone.play(rematch, narrate=asks_first, max_turns=RPS_MAX_TURNS)
    _report_outcome(phone, view)
    phone.chat(rematch, _farewell(phone, view))


def _register_and_meet(phone: Phone) -> None:
    phone.register()
    me = phone.client.me()
    if me.get("name") != phone.name or me.get("id") != phone.client.player_id:
        raise DemoFailure(f"GET /players/me returned {me}, expected {phone.name}")
    phone.meet()


def _report_outcome(phone: Phone, view: dict[str, Any]) -> None:
    outcome = view.get("outcome")
    player_ids = {p["id"] for p in view["players"]}
    if not isinstance(outcome, dict) or set(outcome) != player_ids:
        raise DemoFailure(
            f"finished game {view['id']} has outcome {outcome!r}, expected one "
            "result per player"
        )
    names = {p["id"]: p["name"] for p in view["players"]}
    results = ", ".join(f"{names[pid]} {result}" for pid, result in outcome.items())
    phone.say(f"{view['ruleset']} game over after turn {view['turn']}: {results}")


def _farewell(phone: Phone, view: dict[str, Any]) -> str:
    result = (view.get("outcome") or {}).get(phone.client.player_id)
    if result == "won":
        return "gg, well played!"
    if result == "lost":
        return "gg, you got me this time."
    return "gg, a draw!"


def render_board(view: dict[str, Any]) -> str:
    """Draw a lightcycles state as text.

    Each player's trail is the lowercase first letter of their name, or their
    seat number when names share a letter. A head is uppercase while the cycle
    rides and ``X`` once it crashed.
    """
    state = view["state"]
    width, height = int(state["width"]), int(state["height"])
    initials = [p["name"][:1].lower() for p in view["players"]]
    unique = len(set(initials)) == len(initials) and all(initials)
    marks = {
        p["id"]: initials[i] if unique else str(p["seat"])
        for i, p in enumerate(view["players"])
    }

    grid = [["." for _ in range(width)] for _ in range(height)]
    for x, y, player_id in state.get("trails", []):
        grid[y][x] = marks.get(player_id, "?")
    for player_id, cycle in state["cycles"].items():
        head = marks.get(player_id, "?").upper() if cycle.get("alive") else "X"
        grid[cycle["y"]][cycle["x"]] = head
    return "\n".join("        " + " ".join(row) for row in grid)


def _check_chats_and_caching(phone: Phone, transcript: Transcript) -> None:
    """Page back through each game's chat and check ETags, using one phone's client.

    The phone's thread has finished, so the main thread may use its client.
    """
    client = phone.client
    for ruleset, game_id in phone.games.items():
        lines, pages = _page_chat_backwards(client, game_id)
        page_text = ", ".join(f"#{first}-#{last}" for first, last in pages)
        transcript.say(
            "demo",
            f"{ruleset} chat, read back {CHAT_PAGE_LIMIT} lines at a time with "
            f"before (pages, newest first: {page_text}):",
        )
        for line in lines:
            transcript.say(
                "chat", f"#{line['seq']} {line['player_name']}: {line['text']}"
            )

        first = client.chat_latest(game_id, limit=CHAT_PAGE_LIMIT)
        second = client.chat_latest(game_id, limit=CHAT_PAGE_LIMIT)
        if first.etag is None or not second.not_modified:
            raise DemoFailure(
                f"chat of game {game_id}: a repeated GET with If-None-Match "
                f"{first.etag} did not return 304 Not Modified"
            )

        first = client.get_game(game_id)
        second = client.get_game(game_id)
        if first.etag is None or not second.not_modified:
            raise DemoFailure(
                f"game {game_id}: a repeated GET with If-None-Match {first.etag} "
                "did not return 304 Not Modified"
            )
        if second.poll_interval is None:
            transcript.say("demo", "note: the game view has no X-Poll-Interval header")
        if lines and second.body.get("chat_seq") != lines[-1]["seq"]:
            raise DemoFailure(
                f"game {game_id} has chat_seq {second.body.get('chat_seq')}, but its "
                f"latest chat line is #{lines[-1]['seq']}"
            )


def _page_chat_backwards(
    client: LockstepClient, game_id: str
) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """Read a whole chat from the latest page back with ``before``, checking seqs.

    Returns the lines in ascending seq, each with an added ``player_name``,
    and the first and last seq of each page in the order they were read.
    """
    view = client.get_game(game_id).body
    names = {p["id"]: p["name"] for p in view["players"]}

    lines = list(client.chat_latest(game_id, limit=CHAT_PAGE_LIMIT).body["messages"])
    pages = [(lines[0]["seq"], lines[-1]["seq"])] if lines else []
    while lines and lines[0]["seq"] > 1:
        page = client.chat_before(
            game_id, before=lines[0]["seq"], limit=CHAT_PAGE_LIMIT
        )
        older = page.body["messages"]
        if not older:
            break
        pages.append((older[0]["seq"], older[-1]["seq"]))
        lines = list(older) + lines

    seqs = [line["seq"] for line in lines]
    if seqs != list(range(1, len(seqs) + 1)):
        raise DemoFailure(
            f"chat of game {game_id} has seqs {seqs}, expected 1 to {len(seqs)}"
        )
    named = [
        {**line, "player_name": names.get(line["player"], line["player"])}
        for line in lines
    ]
    return named, pages
