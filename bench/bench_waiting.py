"""A move's latency with and without 200 clients holding waiting polls.

`python -m bench.bench_waiting` (part of `make bench`) starts gunicorn per
backend pair, then in one run times sequential moves three times: with no
waiting clients, while WAITERS clients each hold `GET /games/{id}?wait=20`
on idle games, and with none again. It prints a table and writes the
figures as JSON under bench-results/.

The waiting clients' games do not change during the timing, so the figure
is the cost of holding the waits (a thread each, and the watcher's version
reads), not of responding to them. The server runs with LOCKSTEP_THREADS=128,
so that two workers can hold all the waits; the defaults hold fewer, and a
wait beyond the bound is answered at once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import django
import requests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")
django.setup()

from bench.backends import (  # noqa: E402
    PAIRS,
    missing_services,
    private_env,
    remove_private_data,
)
from bench.httpclient import BenchClient  # noqa: E402
from bench.report import machine  # noqa: E402
from bench.stats import summary_ms  # noqa: E402
from tests.live import ROOT, LiveServer  # noqa: E402

WAITERS = 200
WAITED_GAMES = 50
WAIT_SECONDS = 20
THREADS = 128
PLAYED_GAMES = 10


class Waiter(threading.Thread):
    """Keeps one waiting poll open on a game until told to stop."""

    def __init__(self, base_url: str, game_id: str, token: str, version: int):
        super().__init__(daemon=True)
        self.url = f"{base_url}/api/v1/games/{game_id}?wait={WAIT_SECONDS}"
        self.headers = {
            "Authorization": f"Bearer {token}",
            "If-None-Match": f'"{version}"',
        }
        self.stop = threading.Event()
        self.errors = 0
        self.answered_at_once = 0

    def run(self):
        session = requests.Session()
        while not self.stop.is_set():
            try:
                started = time.monotonic()
                response = session.get(
                    self.url, headers=self.headers, timeout=WAIT_SECONDS + 10
                )
                if response.status_code != 304:
                    self.errors += 1
                    self.stop.wait(1)
                elif time.monotonic() - started < WAIT_SECONDS / 2:
                    # The worker had no waiting slot left and responded at
                    # once. A client then polls again after X-Poll-Interval.
                    self.answered_at_once += 1
                    self.stop.wait(float(response.headers["X-Poll-Interval"]))
            except requests.RequestException:
                self.errors += 1
                self.stop.wait(1)
        session.close()


def new_player(client: BenchClient) -> dict:
    return client.expect(201, "POST", "/api/v1/players", body={"name": "bench"}).body


def started_game(client: BenchClient, first: dict, second: dict) -> dict:
    view = client.expect(
        201,
        "POST",
        "/api/v1/games",
        token=first["token"],
        body={"ruleset": "lockstep", "seats": 2, "options": {}},
    ).body
    return client.expect(
        200, "POST", f"/api/v1/games/{view['id']}/join", token=second["token"]
    ).body


class MovePlayer:
    """Sends moves in PLAYED_GAMES games, alternating the seats, and times them."""

    def __init__(self, client: BenchClient):
        self.client = client
        self.players = [new_player(client), new_player(client)]
        self.games = [
            started_game(client, *self.players)["id"] for _ in range(PLAYED_GAMES)
        ]
        self.turns = dict.fromkeys(self.games, 1)

    def timed_moves(self, count: int) -> list[float]:
        samples = []
        for index in range(count):
            game_id = self.games[index % len(self.games)]
            turn = self.turns[game_id]
            for seat, player in enumerate(self.players):
                reply = self.client.expect(
                    200,
                    "PUT",
                    f"/api/v1/games/{game_id}/turns/{turn}/move",
                    token=player["token"],
                    body={"move": [seat, turn]},
                )
                samples.append(reply.seconds)
            self.turns[game_id] = turn + 1
        return samples


def held_waits(base_url: str) -> float:
    text = requests.get(f"{base_url}/metrics", timeout=10).text
    match = re.search(r"^lockstep_waiting_requests (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def start_waiters(base_url: str, client: BenchClient, count: int) -> list[Waiter]:
    owner, other = new_player(client), new_player(client)
    games = [started_game(client, owner, other) for _ in range(WAITED_GAMES)]
    waiters = [
        Waiter(
            base_url,
            games[i % len(games)]["id"],
            owner["token"],
            games[i % len(games)]["version"],
        )
        for i in range(count)
    ]
    for waiter in waiters:
        waiter.start()
    # Wait until the server holds them all, or their number stops growing.
    deadline = time.monotonic() + 30
    last, steady_since = -1.0, time.monotonic()
    while time.monotonic() < deadline:
        held = held_waits(base_url)
        if held >= count:
            break
        if held != last:
            last, steady_since = held, time.monotonic()
        elif time.monotonic() - steady_since > 2:
            break
        time.sleep(0.2)
    return waiters


def run_pair(pair: str, moves: int) -> dict:
    storage_name, lock_name = PAIRS[pair]
    workdir = Path(tempfile.mkdtemp(prefix=f"lockstep-bench-waiting-{storage_name}-"))
    env = private_env(pair, workdir)
    live = LiveServer(
        storage_name,
        lock_name,
        workdir,
        workers=None,
        threads=THREADS,
        extra_env={**env, "LOCKSTEP_RATE_MOVES": "off", "LOCKSTEP_RATE_CHAT": "off"},
    )
    waiters: list[Waiter] = []
    try:
        live.start(timeout=120)
        client = BenchClient(live.url)
        player = MovePlayer(client)
        player.timed_moves(max(10, moves // 10))  # warm-up, not reported

        before = player.timed_moves(moves)
        waiters = start_waiters(live.url, client, WAITERS)
        held = held_waits(live.url)
        during = player.timed_moves(moves)
        held_after = held_waits(live.url)
        errors = sum(waiter.errors for waiter in waiters)
        answered_at_once = sum(waiter.answered_at_once for waiter in waiters)
        for waiter in waiters:
            waiter.stop.set()
        # A held wait ends within WAIT_SECONDS; the timing below does not
        # wait for that, the waits just stop being renewed.
        after = player.timed_moves(moves)
        client.close()
    except Exception:
        print(f"[bench] {pair}: server log tail:\n{live.log_tail()}", file=sys.stderr)
        raise
    finally:
        for waiter in waiters:
            waiter.stop.set()
        live.stop()
        remove_private_data(env)
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "pair": pair,
        "threads_per_worker": THREADS,
        "waiting_clients": WAITERS,
        "held_waits_at_start": held,
        "held_waits_at_end": held_after,
        "waiter_errors": errors,
        "waits_answered_at_once": answered_at_once,
        "without_waiters": summary_ms(before),
        "with_waiters": summary_ms(during),
        "without_waiters_after": summary_ms(after),
    }


def format_table(results: list[dict]) -> str:
    lines = [
        f"{'pair':<22}{'waiting clients':<24}{'moves':>6}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}",
    ]
    for result in results:
        held = result["held_waits_at_start"]
        rows = [
            ("0 (before)", result["without_waiters"]),
            (f"{result['waiting_clients']} ({held:.0f} held)", result["with_waiters"]),
            ("0 (after)", result["without_waiters_after"]),
        ]
        for label, figures in rows:
            lines.append(
                f"{result['pair']:<22}{label:<24}{figures['n']:>6}"
                f"{figures['p50_ms']:>9.1f}{figures['p99_ms']:>9.1f}"
                f"{figures['max_ms']:>9.1f}"
            )
        ratio = result["with_waiters"]["p50_ms"] / result["without_waiters"]["p50_ms"]
        lines.append(f"{result['pair']:<22}p50 with / without: {ratio:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pairs",
        default="sqlite+local,cassandra+zookeeper",
        help="comma-separated backend pairs (default: both; a pair whose "
        "services do not respond is skipped)",
    )
    parser.add_argument(
        "--moves", type=int, default=300, help="moves timed per phase (default: 300)"
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "bench-results"),
        help="folder for the JSON results (default: bench-results/)",
    )
    args = parser.parse_args(argv)

    results = []
    for pair in [name.strip() for name in args.pairs.split(",") if name.strip()]:
        if pair not in PAIRS:
            parser.error(f"unknown pair {pair!r}; use {', '.join(PAIRS)}")
        problems = missing_services(pair)
        if problems:
            print(f"[bench] {pair}: skipped: {'; '.join(problems)}", file=sys.stderr)
            continue
        print(f"[bench] {pair}: timing {args.moves} moves per phase", flush=True)
        results.append(run_pair(pair, args.moves))

    print(format_table(results))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"waiting-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(
        json.dumps({"machine": machine(), "results": results}, indent=2) + "\n",
        encoding="utf-8",
    )
    print(f"[bench] results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
