"""Command line: ``python -m ios_client_stub demo --server URL [--seed N]``."""

from __future__ import annotations

import argparse
import logging
import sys

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
    # Each subcommand, such as a future load generator, adds its own parser here.
    _add_demo_parser(subcommands)
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
