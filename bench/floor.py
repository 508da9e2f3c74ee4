"""The floor: what one move cannot avoid, timed in-process without HTTP.

A move takes the game's lock, reads the game and commits it with a
conditional write, so the sum of the medians of those three steps is the
least a move can cost on a backend pair. Each round times the three steps
once, so that noise from other processes spreads evenly over them.
"""

from __future__ import annotations

import uuid

from gameserver import clock
from storage.records import GameRecord

from .backends import open_locks, open_storage
from .stats import summary_ms, time_call


def floor_game() -> GameRecord:
    """Return an active two-player lockstep game, shaped as the services build it."""
    players = [str(uuid.uuid4()), str(uuid.uuid4())]
    now = clock.now()
    return GameRecord(
        id=str(uuid.uuid4()),
        ruleset="lockstep",
        seats=2,
        options={"max_turns": 0},
        status="active",
        turn=1,
        players=[
            {
                "id": pid,
                "name": f"p{seat}",
                "seat": seat,
                "status": "active",
                "missed": 0,
            }
            for seat, pid in enumerate(players)
        ],
        pending={},
        state={"max_turns": 0, "players": players},
        outcome=None,
        resolved_turns=0,
        chat_seq=0,
        version=1,
        created_at=now,
        updated_at=now,
    )


def measure_floor(env: dict[str, str], rounds: int, warmup: int) -> dict:
    """Time lock acquire+release, get_game and update_game `rounds` times each."""
    storage = open_storage(env)
    locks = open_locks(env)
    try:
        game = floor_game()
        storage.insert_game(game)
        lock_name = f"game/{game.id}"
        samples: dict[str, list[float]] = {
            "lock": [],
            "get_game": [],
            "update_game": [],
        }

        def lock_cycle() -> None:
            with locks.lock(lock_name):
                pass

        def commit() -> None:
            storage.update_game(game, expected)

        for round_number in range(warmup + rounds):
            lock_seconds = time_call(lock_cycle)
            read_seconds = time_call(lambda: storage.get_game(game.id))
            expected = game.version
            game.version = expected + 1
            game.updated_at = clock.now()
            write_seconds = time_call(commit)
            if round_number >= warmup:
                samples["lock"].append(lock_seconds)
                samples["get_game"].append(read_seconds)
                samples["update_game"].append(write_seconds)
    finally:
        storage.close()
        locks.close()

    result = {name: summary_ms(values) for name, values in samples.items()}
    result["sum_p50_ms"] = sum(result[name]["p50_ms"] for name in samples)
    return result
