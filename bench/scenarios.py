"""The HTTP scenarios: a move's latency, polling throughput, and growth.

Every scenario runs against one LiveServer. It spreads its requests over
enough players that none of them reaches the per-player rate limits on
moves and chat posts (60 per 10 s by default). So the cost of the limits is
measured, but no request gets a 429.
"""

from __future__ import annotations

import itertools
import statistics
import uuid

from storage.base import Storage

from .cpu import cpu_seconds
from .httpclient import BenchClient
from .seed import new_game, new_players, seed_history
from .stats import median_ratio, summary_ms
from .wrk import run_wrk

# Maximum requests of one kind that one player sends in a scenario, well
# under the default rate limits of 60 per 10 s.
REQUESTS_PER_PLAYER = 25


def _games_for(samples: int) -> int:
    """Return how many two-player games spread `samples` moves thinly enough."""
    return max(2, -(-samples // (2 * REQUESTS_PER_PLAYER)))


class MoveDriver:
    """Plays two-player lockstep games round-robin, one timed move per call.

    In each game the first seat's move leaves the turn open and the second
    seat's move resolves it, so half of the samples resolve a turn.
    """

    def __init__(self, client: BenchClient, games: list[tuple[dict, list[dict]]]):
        self.client = client
        self.games = games
        self._counter = itertools.count()
        self._order = itertools.cycle(
            [(index, seat) for index in range(len(games)) for seat in (0, 1)]
        )

    def move(self) -> tuple[float, bool]:
        """Send the next move; return its duration and whether it resolved a turn."""
        index, seat = next(self._order)
        game, players = self.games[index]
        path = f"/api/v1/games/{game['id']}/turns/{game['turn']}/move"
        reply = self.client.expect(
            200,
            "PUT",
            path,
            token=players[seat]["token"],
            body={"move": {"n": next(self._counter)}},
        )
        if reply.body["resolved"]:
            game["turn"] = reply.body["game"]["turn"]
        return reply.seconds, reply.body["resolved"]


def start_games(client: BenchClient, count: int) -> list[tuple[dict, list[dict]]]:
    games = []
    for _ in range(count):
        players = new_players(client, 2)
        games.append((new_game(client, players), players))
    return games


def measure_moves(client: BenchClient, samples: int, warmup: int) -> dict:
    """Time `samples` moves over HTTP, half of them resolving their turn."""
    driver = MoveDriver(client, start_games(client, _games_for(samples + warmup)))
    everything, opening, resolving = [], [], []
    for number in range(warmup + samples):
        seconds, resolved = driver.move()
        if number < warmup:
            continue
        everything.append(seconds)
        (resolving if resolved else opening).append(seconds)
    return {
        "all": summary_ms(everything),
        "not_resolving": summary_ms(opening),
        "resolving": summary_ms(resolving),
    }


def measure_polling(
    client: BenchClient,
    base_url: str,
    rounds: int,
    seconds: float,
    connections: int,
    server_pids: list[int],
) -> dict:
    """Compare requests/s of a 304 game poll with GET /bench/empty, alternating.

    Also returns the CPU time the server's processes (`server_pids`) used
    per request of each kind, which other load on the machine changes far
    less than it changes requests/s.
    """
    players = new_players(client, 2)
    game = new_game(client, players)
    token = players[0]["token"]
    path = f"/api/v1/games/{game['id']}"
    etag = client.expect(200, "GET", path, token=token).headers["etag"]
    poll_headers = {"Authorization": f"Bearer {token}", "If-None-Match": etag}
    client.expect(304, "GET", path, token=token, headers={"If-None-Match": etag})
    client.expect(200, "GET", "/bench/empty")

    runs: dict[str, list[float]] = {"bare": [], "poll": []}
    cpu_us: dict[str, list[float]] = {"bare": [], "poll": []}
    errors = 0
    for _ in range(rounds):
        for kind, url, headers in (
            ("bare", f"{base_url}/bench/empty", None),
            ("poll", f"{base_url}{path}", poll_headers),
        ):
            used_before = cpu_seconds(server_pids)
            result = run_wrk(url, seconds, connections, headers)
            used = cpu_seconds(server_pids) - used_before
            runs[kind].append(result.requests_per_second)
            cpu_us[kind].append(used / (result.requests_per_second * seconds) * 1e6)
            errors += result.errors
    bare_rps = statistics.median(runs["bare"])
    poll_rps = statistics.median(runs["poll"])
    return {
        "bare_rps": bare_rps,
        "poll_304_rps": poll_rps,
        "ratio": poll_rps / bare_rps,
        "bare_runs": runs["bare"],
        "poll_runs": runs["poll"],
        "server_cpu_us_per_request": {
            "bare": statistics.median(cpu_us["bare"]),
            "poll_304": statistics.median(cpu_us["poll"]),
        },
        "errors": errors,
        "seconds_per_run": seconds,
        "connections": connections,
    }


def measure_growth(
    client: BenchClient,
    storage: Storage,
    samples: int,
    warmup: int,
    large_chat: int,
    small_chat: int,
    large_turn: int,
    small_turn: int,
) -> dict:
    """Compare chat appends, polls and moves on short and long histories.

    Small and large are measured alternately (small first on even samples,
    large first on odd ones) so that load from elsewhere hits both alike.
    """
    seats = max(2, -(-(samples + warmup) // REQUESTS_PER_PLAYER))
    chat_games = {}
    for size, lines in (("small", small_chat), ("large", large_chat)):
        players = new_players(client, seats)
        game = new_game(client, players)
        seed_history(storage, game["id"], chat_lines=lines)
        chat_games[size] = (game, players)

    def append(size: str, number: int) -> float:
        game, players = chat_games[size]
        body = {"text": f"growth {number}", "client_id": uuid.uuid4().hex}
        path = f"/api/v1/games/{game['id']}/chat"
        token = players[number % len(players)]["token"]
        return client.expect(201, "POST", path, token=token, body=body).seconds

    # Read after the appends, which change the version.
    etags: dict[str, str] = {}

    def poll(size: str, number: int) -> float:
        game, players = chat_games[size]
        path = f"/api/v1/games/{game['id']}"
        headers = {"If-None-Match": etags[size]}
        token = players[number % len(players)]["token"]
        return client.expect(304, "GET", path, token=token, headers=headers).seconds

    move_games = {}
    per_size = _games_for(samples + warmup)
    for size, turn in (("small", small_turn), ("large", large_turn)):
        games = start_games(client, per_size)
        for game, _ in games:
            seed_history(storage, game["id"], resolved_turns=turn - 1)
            game["turn"] = turn
        move_games[size] = MoveDriver(client, games)

    chat_samples = _alternate(samples, warmup, append)
    for size, (game, players) in chat_games.items():
        path = f"/api/v1/games/{game['id']}"
        etags[size] = client.expect(
            200, "GET", path, token=players[0]["token"]
        ).headers["etag"]
    poll_samples = _alternate(samples, warmup, poll)
    move_samples = _alternate(
        samples, warmup, lambda size, _: move_games[size].move()[0]
    )

    result = {
        "sizes": {
            "chat_lines": {"small": small_chat, "large": large_chat},
            "turn": {"small": small_turn, "large": large_turn},
        }
    }
    for name, measured in (
        ("chat_append", chat_samples),
        ("game_poll", poll_samples),
        ("move", move_samples),
    ):
        result[name] = {
            "small": summary_ms(measured["small"]),
            "large": summary_ms(measured["large"]),
            "ratio": median_ratio(measured["large"], measured["small"]),
        }
    return result


def _alternate(samples: int, warmup: int, measure) -> dict[str, list[float]]:
    """Call `measure(size, number)` for both sizes, keeping the samples after warmup."""
    measured: dict[str, list[float]] = {"small": [], "large": []}
    for number in range(warmup + samples):
        order = ("small", "large") if number % 2 == 0 else ("large", "small")
        for size in order:
            seconds = measure(size, number)
            if number >= warmup:
                measured[size].append(seconds)
    return measured
