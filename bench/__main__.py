"""`python -m bench`: measure each backend pair and check the targets.

For each pair, on data of its own: the floor in-process, then against one
gunicorn server started with the settings of `make run` (plus
LOCKSTEP_BENCH_ENDPOINTS=1): a move's latency, polling throughput against
a bare endpoint, growth with history, and the phones' load test. Prints
the figures and a PASS/MISS line per target, and writes everything as
JSON under bench-results/<time>/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")

import django  # noqa: E402

django.setup()

from tests.live import LiveServer  # noqa: E402

from . import report  # noqa: E402
from .backends import (  # noqa: E402
    PAIRS,
    ROOT,
    missing_services,
    open_storage,
    private_env,
    remove_private_data,
)
from .floor import measure_floor  # noqa: E402
from .httpclient import BenchClient  # noqa: E402
from .scenarios import measure_growth, measure_moves, measure_polling  # noqa: E402
from .wrk import require_wrk  # noqa: E402


@dataclass
class Plan:
    """Sample counts and durations of one run."""

    floor_rounds: int = 1000
    floor_warmup: int = 50
    move_samples: int = 400
    move_warmup: int = 40
    poll_rounds: int = 3
    poll_seconds: float = 5.0
    poll_connections: int = 16
    growth_samples: int = 200
    growth_warmup: int = 20
    chat_small: int = 10
    chat_large: int = 100_000
    turn_small: int = 10
    turn_large: int = 1_000
    phones: int = 1000
    games: int = 500
    load_seconds: float = 60.0
    # Mean seconds a phone takes to choose its move once it sees the turn
    # open. With 0 every phone moves on each poll, 500 moves/s for 1,000
    # phones, which no 2-core machine serves (docs/performance.md).
    think: float = 30.0


QUICK = Plan(
    floor_rounds=100,
    floor_warmup=10,
    move_samples=60,
    move_warmup=10,
    poll_rounds=1,
    poll_seconds=2.0,
    growth_samples=30,
    growth_warmup=5,
    chat_large=10_000,
    turn_large=200,
    phones=100,
    games=50,
    load_seconds=15.0,
)

PARTS = ("floor", "moves", "polling", "load", "growth")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure Lockstep's cost on each backend pair and check targets.",
    )
    parser.add_argument(
        "--pairs",
        default=",".join(PAIRS),
        help="comma-separated backend pairs (default: %(default)s)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="comma-separated parts to run (default: %(default)s)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few samples and 100 phones for 15 s, to try the bench out",
    )
    parser.add_argument("--phones", type=int, help="phones in the load test")
    parser.add_argument("--games", type=int, help="games in the load test")
    parser.add_argument("--load-seconds", type=float, help="length of the load test")
    parser.add_argument(
        "--think", type=float, help="mean think time of a phone before a move, seconds"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set an environment variable of the server, to compare settings "
        "(repeatable), such as LOCKSTEP_TOKEN_CACHE_SECONDS=0",
    )
    parser.add_argument(
        "--check-only",
        action="store_true",
        help="only check that the pairs' services and wrk are there, then exit",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench-results",
        help="folder for the results (default: bench-results/)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    pairs = [pair.strip() for pair in args.pairs.split(",") if pair.strip()]
    parts = {part.strip() for part in args.parts.split(",") if part.strip()}
    unknown = [pair for pair in pairs if pair not in PAIRS] + sorted(parts - set(PARTS))
    if unknown:
        print(
            f"bench: unknown pair or part {unknown}; pairs are {', '.join(PAIRS)} "
            f"and parts {', '.join(PARTS)}.",
            file=sys.stderr,
        )
        return 2
    server_env = dict(item.split("=", 1) for item in args.server_env if "=" in item)
    if len(server_env) != len(args.server_env):
        print("bench: --server-env takes NAME=VALUE.", file=sys.stderr)
        return 2
    plan = QUICK if args.quick else Plan()
    for name in ("phones", "games", "load_seconds", "think"):
        if getattr(args, name) is not None:
            setattr(plan, name, getattr(args, name))

    problems = [(pair, missing_services(pair)) for pair in pairs]
    problems = [(pair, found) for pair, found in problems if found]
    if problems:
        for pair, found in problems:
            print(
                f"bench: the {pair} pair needs its services: {'; '.join(found)}.",
                file=sys.stderr,
            )
        print(
            "bench: start them with `make services`, or measure the embedded pair "
            "alone with `make bench BENCH_PAIRS=sqlite+local`.",
            file=sys.stderr,
        )
        return 2
    if "polling" in parts:
        try:
            require_wrk()
        except RuntimeError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 2
    if args.check_only:
        return 0

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / stamp
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    record = {
        "started_at": stamp,
        "command": " ".join(["python -m bench", *(argv or sys.argv[1:])]),
        "machine": report.machine(),
        "plan": plan.__dict__,
        "server_env": server_env,
        "load_average": {"start": os.getloadavg()},
        "pairs": {},
    }
    checks = []
    for pair in pairs:
        result = run_pair(pair, plan, parts, out / pair, server_env)
        record["pairs"][pair] = result
        checks += report.check_targets(pair, result)
    record["load_average"]["end"] = os.getloadavg()
    record["seconds"] = round(time.monotonic() - started, 1)

    print()
    for pair in pairs:
        print(report.format_pair(pair, record["pairs"][pair]))
    print()
    print(report.format_targets(checks))
    load = record["load_average"]
    print(
        f"\nload average (1, 5, 15 min) at start {_loads(load['start'])}, "
        f"at end {_loads(load['end'])}; {record['machine']['nproc']} cores; "
        f"took {record['seconds']:.0f} s"
    )
    report.write_results(out / "results.json", record, checks)
    print(f"bench: wrote {out / 'results.json'}")
    return 0


def run_pair(
    pair: str, plan: Plan, parts: set[str], out: Path, server_env: dict[str, str]
) -> dict:
    storage_name, lock_name = PAIRS[pair]
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"lockstep-bench-{storage_name}-"))
    env = private_env(pair, workdir)
    result: dict = {"load_average": {}}
    live = None
    try:
        if "floor" in parts:
            step(pair, result, "floor", "timing lock, get_game and update_game")
            result["floor"] = measure_floor(env, plan.floor_rounds, plan.floor_warmup)
        step(pair, result, "server", "starting gunicorn with the settings of make run")
        live = LiveServer(
            storage_name,
            lock_name,
            workdir,
            workers=None,
            threads=None,
            extra_env={**env, "LOCKSTEP_BENCH_ENDPOINTS": "1", **server_env},
        )
        live.start(timeout=120)
        client = BenchClient(live.url)
        if "moves" in parts:
            step(pair, result, "moves", f"{plan.move_samples} moves over HTTP")
            result["moves"] = measure_moves(client, plan.move_samples, plan.move_warmup)
        if "polling" in parts:
            step(pair, result, "polling", "wrk on /bench/empty and a 304 game poll")
            result["polling"] = measure_polling(
                client,
                live.url,
                plan.poll_rounds,
                plan.poll_seconds,
                plan.poll_connections,
                [live.process.pid, *live.worker_pids()],
            )
        if "load" in parts:
            step(
                pair,
                result,
                "load",
                f"{plan.phones} phones for {plan.load_seconds:g} s",
            )
            result["load"] = run_load(live.url, plan, out)
        if "growth" in parts:
            step(
                pair,
                result,
                "growth",
                f"seeding {plan.chat_large:,} chat lines "
                f"and turn {plan.turn_large:,}, then timing",
            )
            storage = open_storage(env)
            try:
                result["growth"] = measure_growth(
                    client,
                    storage,
                    plan.growth_samples,
                    plan.growth_warmup,
                    plan.chat_large,
                    plan.chat_small,
                    plan.turn_large,
                    plan.turn_small,
                )
            finally:
                storage.close()
        client.close()
    except Exception:
        if live is not None:
            print(
                f"[bench] {pair}: server log tail:\n{live.log_tail()}", file=sys.stderr
            )
        raise
    finally:
        if live is not None:
            live.stop()
        remove_private_data(env)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def step(pair: str, result: dict, name: str, text: str) -> None:
    result["load_average"][name] = os.getloadavg()
    print(
        f"[bench] {pair}: {name}: {text} (load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )


def run_load(url: str, plan: Plan, out: Path) -> dict:
    """Run the phones' load test in a process of its own and return its report."""
    command = [
        sys.executable,
        "-m",
        "ios_client_stub",
        "load",
        "--server",
        url,
        "--phones",
        str(plan.phones),
        "--games",
        str(plan.games),
        "--duration",
        str(plan.load_seconds),
        "--think",
        str(plan.think),
        "--out",
        str(out),
    ]
    subprocess.run(command, cwd=ROOT, check=True, timeout=plan.load_seconds + 900)
    return json.loads((out / "load.json").read_text(encoding="utf-8"))


def _loads(values) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


if __name__ == "__main__":
    sys.exit(main())
