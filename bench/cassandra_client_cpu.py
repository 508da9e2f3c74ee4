"""Client CPU per read of a game on Cassandra, by driver setting.

`python -m bench.cassandra_client_cpu` reads one game over and over through
`CassandraStorage.get_game` with each variant in turn, several rounds, and
prints the CPU time of this process (every thread, the driver's event loop
included) per read. CPU time, unlike requests per second, changes little
when other processes load the machine, so it compares the variants fairly
on a busy machine. The lowest round of each variant is the figure.

Variants: the native protocol version (v4 or v5) and the row factory of
plain reads (the driver's `named_tuple_factory`, which builds a class per
result, or `cached_named_tuple_factory`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gameserver.settings")

import django  # noqa: E402

django.setup()

from cassandra import ProtocolVersion  # noqa: E402
from cassandra.query import named_tuple_factory  # noqa: E402

from storage import cassandra as cassandra_storage  # noqa: E402

from .backends import (  # noqa: E402
    missing_services,
    open_storage,
    private_env,
    remove_private_data,
)
from .floor import floor_game  # noqa: E402

VARIANTS = {
    "v5, driver's row factory": (ProtocolVersion.V5, named_tuple_factory),
    "v5, cached row factory": (
        ProtocolVersion.V5,
        cassandra_storage.cached_named_tuple_factory,
    ),
    "v4, cached row factory": (
        ProtocolVersion.V4,
        cassandra_storage.cached_named_tuple_factory,
    ),
}


def open_variant(env: dict[str, str], protocol: int, row_factory):
    """Open a CassandraStorage whose cluster uses `protocol` and `row_factory`."""
    original = cassandra_storage.CassandraStorage._new_cluster

    def new_cluster(self):
        cluster = original(self)
        cluster.protocol_version = protocol
        plain = cluster.profile_manager.profiles[cassandra_storage.EXEC_PROFILE_PLAIN]
        plain.row_factory = row_factory
        return cluster

    cassandra_storage.CassandraStorage._new_cluster = new_cluster
    try:
        return open_storage(env)
    finally:
        cassandra_storage.CassandraStorage._new_cluster = original


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000, help="reads per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per variant")
    args = parser.parse_args(argv)
    problems = missing_services("cassandra+zookeeper")
    if problems:
        print(f"cassandra_client_cpu: {'; '.join(problems)}.", file=sys.stderr)
        return 2

    env = private_env("cassandra+zookeeper", Path(tempfile.mkdtemp()))
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        storages = {
            name: open_variant(env, *variant) for name, variant in VARIANTS.items()
        }
        game = floor_game()
        next(iter(storages.values())).insert_game(game)
        for storage in storages.values():
            for _ in range(100):
                storage.get_game(game.id)
        for _ in range(args.rounds):
            for name, storage in storages.items():
                started = time.process_time()
                for _ in range(args.reads):
                    storage.get_game(game.id)
                used = time.process_time() - started
                results[name].append(used / args.reads * 1e6)
        for storage in storages.values():
            storage.close()
    finally:
        remove_private_data(env)

    print(f"client CPU per get_game, lowest of {args.rounds} rounds of {args.reads}:")
    for name, values in results.items():
        rounds = " ".join(f"{value:.0f}" for value in values)
        print(f"  {name:<28} {min(values):6.0f} us   (rounds: {rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
