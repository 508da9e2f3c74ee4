"""Load test: many simulated phones playing two-player games at once.

    python -m ios_client_stub load --server URL --phones N --games G --duration S

Each of the G lockstep games seats two of the N phones. Every phone polls
its game every `poll_interval` seconds with If-None-Match. Once a poll
shows that its move is needed, it submits one, after a think time (none by
default). It reads the chat lines that a new game view announces, and
posts a chat line now and then. All phones share one asyncio event loop,
and each has its own aiohttp session with one keep-alive connection, as a
phone has.

Setting up (registering the players, creating and joining the games) is
not measured. While the phones run, a progress line is printed every few
seconds. At the end a table of throughput, p50, p95, p99 and errors per
endpoint is printed and written as `load.json`, with `load.png`, a plot of
latency over time, into the output folder.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import load_report
from .load_report import Sample

API_PREFIX = "/api/v1"

# Statuses that count as success, per endpoint.
EXPECTED_STATUS = {
    "GET game": {200, 304},
    "GET chat": {200, 304},
    "PUT move": {200},
    "POST chat": {200, 201},
    "setup": {200, 201},
}

# Seconds before the server's keep-alive timeout (5 s in gunicorn_conf.py) at
# which a phone drops an idle connection itself, so that it never sends a
# request on a connection that the server is closing.
CLIENT_KEEPALIVE = 4.0


class LoadSetupError(Exception):
    """Registering the players or starting the games failed."""


@dataclass
class LoadConfig:
    """Settings of one load run, with times in seconds.

    `think` is the mean of a phone's delay between seeing its move needed and
    sending it, drawn uniformly from 0 to twice the mean. `chat_every` is the
    mean time between one phone's chat lines.
    """

    server: str
    phones: int
    games: int
    duration: float
    out: Path
    poll_interval: float = 2.0
    think: float = 0.0
    chat_every: float = 60.0
    timeout: float = 10.0
    progress_every: float = 5.0
    setup_concurrency: int = 32
    seed: int = 1

    def check(self) -> None:
        if self.phones != 2 * self.games:
            raise ValueError(
                f"--phones must be twice --games (2 phones per game), got "
                f"{self.phones} phones for {self.games} games."
            )
        if self.games < 1 or self.duration <= 0 or self.poll_interval <= 0:
            raise ValueError("--games, --duration and --poll-interval must be above 0.")
        if self.think < 0 or self.chat_every <= 0:
            raise ValueError("--think must be 0 or more and --chat-every above 0.")


@dataclass
class Recorder:
    """Every measured request of the run, and the time the phones started."""

    started: float = 0.0
    samples: list[Sample] = field(default_factory=list)

    def add(self, endpoint: str, began: float, seconds: float, outcome: str, ok: bool):
        self.samples.append(
            Sample(began - self.started, endpoint, seconds, outcome, ok)
        )


class Phone:
    """One player in one game, polling, moving and chatting on a schedule."""

    def __init__(self, index: int, player: dict, game_id: str, session, config, rng):
        self.index = index
        self.player = player
        self.game_id = game_id
        self.session = session
        self.config = config
        self.rng = rng
        self.etag: str | None = None
        self.view: dict[str, Any] | None = None
        self.chat_seen = 0

    async def run(self, recorder: Recorder, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        interval = self.config.poll_interval
        # Phones start out of step, as real ones do.
        next_poll = loop.time() + self.rng.uniform(0, interval)
        move_at: float | None = None
        while True:
            now = loop.time()
            if now >= deadline:
                return
            if move_at is not None and now >= move_at:
                move_at = None
                if self._move_needed():
                    await self._move(recorder)
            if now >= next_poll:
                while next_poll <= now:
                    next_poll += interval
                await self._poll(recorder)
                if move_at is None and self._move_needed():
                    move_at = loop.time() + self.rng.uniform(0, 2 * self.config.think)
                if self.rng.random() < interval / self.config.chat_every:
                    await self._chat(recorder)
                continue
            wake = min(next_poll, deadline if move_at is None else move_at)
            await asyncio.sleep(max(0.0, wake - loop.time()))

    def _move_needed(self) -> bool:
        view = self.view
        if view is None or view.get("status") != "active":
            return False
        me = next((p for p in view["players"] if p["id"] == self.player["id"]), None)
        return (
            me is not None
            and me["status"] == "active"
            and self.player["id"] not in view["submitted"]
        )

    async def _poll(self, recorder: Recorder) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else {}
        reply = await request(
            self.session,
            recorder,
            "GET game",
            "GET",
            f"{API_PREFIX}/games/{self.game_id}",
            token=self.player["token"],
            headers=headers,
        )
        if reply is None:
            return
        status, body, reply_headers = reply
        if status == 200:
            self.view = body
            self.etag = reply_headers.get("ETag")
        if self.view is not None and self.view["chat_seq"] > self.chat_seen:
            await self._read_chat(recorder)

    async def _read_chat(self, recorder: Recorder) -> None:
        reply = await request(
            self.session,
            recorder,
            "GET chat",
            "GET",
            f"{API_PREFIX}/games/{self.game_id}/chat?after={self.chat_seen}&limit=100",
            token=self.player["token"],
        )
        if reply is not None and reply[0] == 200:
            self.chat_seen = max(self.chat_seen, reply[1]["next_after"])

    async def _move(self, recorder: Recorder) -> None:
        turn = self.view["turn"]
        reply = await request(
            self.session,
            recorder,
            "PUT move",
            "PUT",
            f"{API_PREFIX}/games/{self.game_id}/turns/{turn}/move",
            token=self.player["token"],
            body={"move": {"phone": self.index, "turn": turn}},
        )
        if reply is not None and reply[0] == 200:
            self.view = reply[1]["game"]

    async def _chat(self, recorder: Recorder) -> None:
        await request(
            self.session,
            recorder,
            "POST chat",
            "POST",
            f"{API_PREFIX}/games/{self.game_id}/chat",
            token=self.player["token"],
            body={"text": f"phone {self.index} says hi", "client_id": uuid.uuid4().hex},
        )


async def request(
    session,
    recorder: Recorder | None,
    endpoint: str,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Any] | None:
    """Send one request and record it; return (status, JSON body, headers) or None.

    None means the request failed without a response (a timeout or a broken
    connection), or returned a status that `endpoint` does not expect.
    """
    import aiohttp

    sent_headers = dict(headers or {})
    if token is not None:
        sent_headers["Authorization"] = f"Bearer {token}"
    loop = asyncio.get_running_loop()
    began = loop.time()
    try:
        async with session.request(
            method, path, json=body, headers=sent_headers
        ) as response:
            raw = await response.read()
            status = response.status
            reply_headers = response.headers
    except (TimeoutError, aiohttp.ClientError) as exc:
        if recorder is not None:
            recorder.add(
                endpoint, began, loop.time() - began, type(exc).__name__, False
            )
        return None
    seconds = loop.time() - began
    ok = status in EXPECTED_STATUS[endpoint]
    if recorder is not None:
        recorder.add(endpoint, began, seconds, str(status), ok)
    if not ok:
        return None
    parsed = json.loads(raw) if raw else None
    return status, parsed, reply_headers


def new_session(config: LoadConfig, connections: int):
    import aiohttp

    return aiohttp.ClientSession(
        base_url=config.server,
        connector=aiohttp.TCPConnector(
            limit=connections, keepalive_timeout=CLIENT_KEEPALIVE
        ),
        timeout=aiohttp.ClientTimeout(total=config.timeout),
    )


async def set_up_games(config: LoadConfig) -> list[tuple[dict, str]]:
    """Register the players and start the games; return (player, game id) per phone."""
    gate = asyncio.Semaphore(config.setup_concurrency)

    async def call(session, method: str, path: str, token=None, body=None):
        async with gate:
            reply = await request(session, None, "setup", method, path, token, body)
        if reply is None:
            raise LoadSetupError(f"{method} {path} failed during set-up.")
        return reply[1]

    async def start_game(session, number: int) -> list[tuple[dict, str]]:
        host, guest = [
            await call(session, "POST", f"{API_PREFIX}/players", body={"name": name})
            for name in (f"load-{number}-a", f"load-{number}-b")
        ]
        body = {"ruleset": "lockstep", "seats": 2, "options": {}}
        game = await call(session, "POST", f"{API_PREFIX}/games", host["token"], body)
        await call(
            session, "POST", f"{API_PREFIX}/games/{game['id']}/join", guest["token"]
        )
        return [(host, game["id"]), (guest, game["id"])]

    async with new_session(config, config.setup_concurrency) as session:
        results = await asyncio.gather(
            *(start_game(session, number) for number in range(config.games)),
            return_exceptions=True,
        )
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:
        raise LoadSetupError(
            f"{len(errors)} of {config.games} games could not be set up; first "
            f"error: {errors[0]!r}. Is the server at {config.server} running?"
        )
    return [seat for result in results for seat in result]


async def print_progress(recorder: Recorder, config: LoadConfig, out) -> None:
    printed = 0
    while True:
        await asyncio.sleep(config.progress_every)
        fresh = recorder.samples[printed:]
        printed += len(fresh)
        elapsed = time.monotonic() - recorder.started
        latencies = [sample.seconds for sample in fresh]
        errors = sum(1 for sample in recorder.samples if not sample.ok)
        moves = sum(1 for sample in fresh if sample.endpoint == "PUT move")
        print(
            f"[load] {elapsed:5.0f} s  "
            f"{len(fresh) / config.progress_every:6.0f} req/s  "
            f"{moves / config.progress_every:5.0f} moves/s  "
            f"p50 {load_report.percentile(latencies, 0.5) * 1000:6.1f} ms  "
            f"p99 {load_report.percentile(latencies, 0.99) * 1000:6.1f} ms  "
            f"errors so far {errors}",
            file=out,
            flush=True,
        )


async def run_phones(
    config: LoadConfig, seats: list[tuple[dict, str]], out
) -> Recorder:
    rng = random.Random(config.seed)
    sessions = [new_session(config, 1) for _ in seats]
    phones = [
        Phone(
            index, player, game_id, sessions[index], config, random.Random(rng.random())
        )
        for index, (player, game_id) in enumerate(seats)
    ]
    recorder = Recorder()
    loop = asyncio.get_running_loop()
    # Latencies are measured with loop.time(), which is time.monotonic().
    recorder.started = loop.time()
    deadline = recorder.started + config.duration
    progress = asyncio.create_task(print_progress(recorder, config, out))
    try:
        await asyncio.gather(*(phone.run(recorder, deadline) for phone in phones))
    finally:
        progress.cancel()
        await asyncio.gather(*(session.close() for session in sessions))
    return recorder


def run_load(config: LoadConfig, out=sys.stdout) -> dict[str, Any]:
    """Set up, run the phones, and write load.json and load.png into `config.out`."""
    config.check()
    print(
        f"[load] setting up {config.games} games for {config.phones} phones on "
        f"{config.server}",
        file=out,
        flush=True,
    )
    seats = asyncio.run(set_up_games(config))
    print(
        f"[load] running {config.phones} phones for {config.duration:g} s "
        f"(poll every {config.poll_interval:g} s, think {config.think:g} s, "
        f"a chat line every {config.chat_every:g} s)",
        file=out,
        flush=True,
    )
    recorder = asyncio.run(run_phones(config, seats, out))

    samples = [s for s in recorder.samples if s.at < config.duration]
    summary = load_report.summarize(samples, config.duration)
    series = load_report.timeline(samples, config.duration)
    report = {
        "config": {**asdict(config), "out": str(config.out)},
        "summary": summary,
        "timeline": series,
    }
    config.out.mkdir(parents=True, exist_ok=True)
    load_report.write_json(config.out / "load.json", report)
    title = (
        f"{config.phones} phones, {config.games} games, {config.server} "
        f"(poll {config.poll_interval:g} s, think {config.think:g} s)"
    )
    plotted = load_report.plot_latency(config.out / "load.png", series, title)
    print(load_report.format_table(summary), file=out)
    print(f"[load] wrote {config.out / 'load.json'}", file=out)
    if plotted:
        print(f"[load] wrote {config.out / 'load.png'}", file=out)
    else:
        print("[load] matplotlib is not installed, so no plot was drawn", file=out)
    return report
