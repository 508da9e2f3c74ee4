"""Command line: ``python -m ios_client_stub demo|load --server URL ...``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .demo import DemoConfig, run_demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ios_client_stub",
        description="Simulated iPhone clients for a Lockstep server.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="log every retry of an HTTP request to stderr",
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    # Each subcommand adds its own parser here.
    _add_demo_parser(subcommands)
    _add_load_parser(subcommands)
    return parser


def _add_demo_parser(subcommands: argparse._SubParsersAction) -> None:
    demo = subcommands.add_parser(
        "demo",
        help="two phones play rps and lightcycles against the server",
        description=(
            "Two simulated phones, Ada and Grace, register, play an rps game and "
            "a lightcycles game against each other in parallel, and chat. Exits "
            "with status 1 on any unexpected response."
        ),
    )
    demo.add_argument(
        "--server",
        default="http://127.0.0.1:8000",
        help="base URL of the Lockstep server (default: %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the bots' random choices (default: %(default)s)",
    )
    demo.add_argument(
        "--grid-size",
        type=int,
        default=10,
        help="width and height of the lightcycles grid in cells (default: %(default)s)",
    )
    demo.set_defaults(run=_run_demo_command)


def _run_demo_command(args: argparse.Namespace) -> int:
    config = DemoConfig(server=args.server, seed=args.seed, grid_size=args.grid_size)
    return run_demo(config)


def _add_load_parser(subcommands: argparse._SubParsersAction) -> None:
    load = subcommands.add_parser(
        "load",
        help="many phones play two-player games against the server for a set time",
        description=(
            "PHONES simulated phones play GAMES two-player lockstep games. Each "
            "polls its game with If-None-Match every POLL_INTERVAL seconds, moves "
            "when its move is needed, reads new chat lines and posts one now and "
            "then. Prints progress while it runs, then a table of throughput, "
            "p50, p95, p99 and errors per endpoint; writes load.json and the plot "
            "load.png into OUT. Needs the bench extra (pip install -e '.[bench]')."
        ),
    )
    load.add_argument(
        "--server",
        default="http://127.0.0.1:8000",
        help="base URL of the Lockstep server (default: %(default)s)",
    )
    load.add_argument(
        "--phones",
        type=int,
        default=100,
        help="number of phones (default: %(default)s)",
    )
    load.add_argument(
        "--games",
        type=int,
        default=None,
        help="number of games, PHONES / 2 (default: PHONES / 2)",
    )
    load.add_argument(
        "--duration",
        type=float,
        default=60.0,
        help="seconds the phones run, set-up not counted (default: %(default)s)",
    )
    load.add_argument(
        "--poll-interval",
        type=float,
        default=2.0,
        help="seconds between one phone's polls (default: %(default)s)",
    )
    load.add_argument(
        "--think",
        type=float,
        default=0.0,
        help=(
            "mean seconds a phone waits between seeing its move needed and sending "
            "it, uniform from 0 to twice this (default: %(default)s)"
        ),
    )
    load.add_argument(
        "--chat-every",
        type=float,
        default=60.0,
        help="mean seconds between one phone's chat lines (default: %(default)s)",
    )
    load.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds one request may take before it counts as an error "
        "(default: %(default)s)",
    )
    load.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results/load"),
        help="folder for load.json and load.png (default: %(default)s)",
    )
    load.add_argument(
        "--seed", type=int, default=1, help="seed of the phones' random choices"
    )
    load.set_defaults(run=_run_load_command)


def _run_load_command(args: argparse.Namespace) -> int:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        print(
            "The load command needs aiohttp and matplotlib from the bench extra: "
            "run `pip install -e '.[bench]'` or `make bench-deps`.",
            file=sys.stderr,
        )
        return 2
    from .load import LoadConfig, LoadSetupError, run_load

    config = LoadConfig(
        server=args.server.rstrip("/"),
        phones=args.phones,
        games=args.games if args.games is not None else args.phones // 2,
        duration=args.duration,
        out=args.out,
        poll_interval=args.poll_interval,
        think=args.think,
        chat_every=args.chat_every,
        timeout=args.timeout,
        seed=args.seed,
    )
    try:
        config.check()
        run_load(config)
    except ValueError as error:
        print(f"load: {error}", file=sys.stderr)
        return 2
    except LoadSetupError as error:
        print(f"load: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(threadName)s %(name)s %(levelname)s %(message)s",
    )
    if not args.verbose:
        # urllib3 logs every connection at DEBUG, which only --verbose wants.
        logging.getLogger("urllib3").setLevel(logging.WARNING)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
