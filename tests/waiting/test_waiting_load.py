"""200 clients hold waiting polls while other players move: nothing stalls.

Each waiting request holds a gunicorn thread, so the test checks the
serving model's promise: moves still complete, within the lock timeout,
while 200 clients wait, and every waiting client learns of the change to
its game. Latency figures are in `make bench`; this test checks bounds.
"""

from __future__ import annotations

import re
import threading
import time

import requests

from tests.helpers import Api
from tests.waiting.conftest import THREADS

WATCHED_GAMES = 50
WAITERS_PER_GAME = 4
PLAYED_GAMES = 5
TURNS = 6
# Seconds a move may take: the default lock timeout, past which a request
# would have failed with 503 anyway.
MOVE_BOUND = 5.0
# Seconds from a watched game's change to its waiters' responses, with 200
# waiters and the players on one 2-core test machine.
SEEN_BOUND = 5.0
WAIT_SECONDS = 20
REQUEST_TIMEOUT = 40


class WaitingClient(threading.Thread):
    """Polls one game with ?wait until its version moves past `version`."""

    def __init__(self, base_url: str, game_id: str, token: str, version: int):
        super().__init__(daemon=True)
        self.url = f"{base_url}/api/v1/games/{game_id}?wait={WAIT_SECONDS}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.version = version
        self.seen_version = None
        self.seen_at = None
        self.answered_at_once = 0
        self.error = None
        self.stop = threading.Event()

    def run(self):
        session = requests.Session()
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                response = session.get(
                    self.url,
                    headers={**self.headers, "If-None-Match": f'"{self.version}"'},
                    timeout=REQUEST_TIMEOUT,
                )
                if response.status_code == 200:
                    self.seen_version = response.json()["version"]
                    self.seen_at = time.monotonic()
                    return
                if response.status_code != 304:
                    self.error = f"{response.status_code} {response.text[:200]}"
                    return
                if time.monotonic() - started < 1:
                    # The worker had no waiting slot left and responded at once.
                    self.answered_at_once += 1
                    self.stop.wait(float(response.headers["X-Poll-Interval"]))
        except requests.RequestException as exc:
            self.error = repr(exc)
        finally:
            session.close()


def waiting_requests(base_url: str) -> float:
    text = requests.get(f"{base_url}/metrics", timeout=10).text
    match = re.search(r"^lockstep_waiting_requests (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def wait_for_waiters(base_url: str, count: int, timeout: float = 20) -> float:
    """Return the number of held waits once it reaches `count` or stops growing."""
    deadline = time.monotonic() + timeout
    waiting, unchanged_since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        now_waiting = waiting_requests(base_url)
        if now_waiting >= count:
            return now_waiting
        if now_waiting != waiting:
            waiting, unchanged_since = now_waiting, time.monotonic()
        elif time.monotonic() - unchanged_since > 1.5:
            return waiting
        time.sleep(0.2)
    return waiting


def timed_move(api: Api, token: str, game_id: str, turn: int, move) -> tuple:
    started = time.monotonic()
    response = api.move(token, game_id, turn, move)
    return response.status_code, time.monotonic() - started, started


def play_game(base_url: str, game_id: str, players: list[dict], results: list):
    api = Api(base_url)
    try:
        for turn in range(1, TURNS + 1):
            for seat, player in enumerate(players):
                results.append(
                    timed_move(api, player["token"], game_id, turn, [seat, turn])
                )
    finally:
        api.close()


def test_moves_complete_while_200_clients_wait(wapi, waiting_server):
    base_url = waiting_server.url
    ada, bob = wapi.new_player(), wapi.new_player()
    watched = []
    for _ in range(WATCHED_GAMES):
        view = wapi.new_game(ada["token"], "lockstep", 2)
        watched.append(wapi.join(bob["token"], view["id"]))
    played = [wapi.started_game("lockstep", 2) for _ in range(PLAYED_GAMES)]
    spectators = [wapi.new_player() for _ in range(10)]

    waiters = [
        WaitingClient(
            base_url,
            view["id"],
            spectators[(index * WAITERS_PER_GAME + k) % len(spectators)]["token"],
            view["version"],
        )
        for index, view in enumerate(watched)
        for k in range(WAITERS_PER_GAME)
    ]
    for waiter in waiters:
        waiter.start()
    waiting_before = wait_for_waiters(base_url, len(waiters))

    results: list = []
    players = [
        threading.Thread(
            target=play_game, args=(base_url, view["id"], members, results)
        )
        for view, members in played
    ]
    for thread in players:
        thread.start()
    changed_at = {}
    watched_moves = []
    for view in watched:
        status, elapsed, started = timed_move(
            wapi, ada["token"], view["id"], 1, {"watched": True}
        )
        watched_moves.append((status, elapsed, started))
        changed_at[view["id"]] = started
    for thread in players:
        thread.join(120)
    for waiter in waiters:
        waiter.join(REQUEST_TIMEOUT + 5)
        waiter.stop.set()

    moves = results + watched_moves
    # Each worker holds up to THREADS - 4 waits. How the kernel spreads the
    # connections over the workers varies, and a worker beyond its bound
    # responds at once, so only one worker's worth of waits is certain.
    assert waiting_before >= min(len(waiters), THREADS - 4), waiting_before
    assert len(results) == PLAYED_GAMES * TURNS * 2
    assert [status for status, _, _ in moves] == [200] * len(moves)
    assert max(elapsed for _, elapsed, _ in moves) < MOVE_BOUND
    assert [waiter.error for waiter in waiters] == [None] * len(waiters)
    assert all(waiter.seen_version is not None for waiter in waiters)
    assert all(waiter.seen_version > waiter.version for waiter in waiters)
    delays = [
        waiter.seen_at - changed_at[waiter.url.split("/")[-1].split("?")[0]]
        for waiter in waiters
    ]
    assert max(delays) < SEEN_BOUND
