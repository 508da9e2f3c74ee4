"""The client stub's invites, matchmaking, rematch and a timed-out turn, over HTTP.

The timed-out turn needs time to pass in the server's processes. So a
server of its own reads a clock offset from a file that the test writes
(LOCKSTEP_CLOCK_OFFSET_FILE, a test hook). A `manage.py run_worker` process
beside it closes the turn once the moved clock passes the deadline, with
no request from either player.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from ios_client_stub.client import LockstepClient
from ios_client_stub.errors import ApiError
from tests.conftest import enabled_pairs, pair_id
from tests.live import ROOT, LiveServer

TURN_SECONDS = 10
# Seconds to wait for the worker to close a turn after the clock moved.
WORKER_WAIT = 20


class ClockServer:
    """A live server and a worker whose clocks run ahead by the seconds in a file."""

    def __init__(self, pair: tuple[str, str], workdir):
        self.offset_file = workdir / "clock-offset"
        self.offset = 0.0
        self.live = LiveServer(
            *pair,
            workdir,
            workers=2,
            threads=8,
            extra_env={
                "LOCKSTEP_CLOCK_OFFSET_FILE": str(self.offset_file),
                "LOCKSTEP_WORKER_INTERVAL": "0.1",
            },
        )
        self.worker: subprocess.Popen | None = None
        self.worker_log = workdir / "worker.log"

    @property
    def url(self) -> str:
        return self.live.url

    def start(self) -> None:
        self.live.start()
        with open(self.worker_log, "ab") as log:
            self.worker = subprocess.Popen(
                [sys.executable, "manage.py", "run_worker"],
                cwd=ROOT,
                env=self.live.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def advance(self, seconds: float) -> None:
        """Move the clock of the server and the worker `seconds` ahead."""
        self.offset += seconds
        self.offset_file.write_text(f"{self.offset}\n")

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=10)
        self.live.stop()


@pytest.fixture(scope="module", params=enabled_pairs(), ids=pair_id)
def clock_server(request, tmp_path_factory):
    server = ClockServer(request.param, tmp_path_factory.mktemp("clock"))
    server.start()
    yield server
    server.stop()


def phone(url: str, name: str) -> LockstepClient:
    client = LockstepClient(url)
    client.register(f"{name}-{uuid.uuid4().hex[:6]}")
    return client


def test_turn_times_out_without_any_request(clock_server):
    ada, grace = phone(clock_server.url, "Ada"), phone(clock_server.url, "Grace")
    options = {"rounds": 3, "turn_seconds": TURN_SECONDS, "on_timeout": "skip"}
    game = ada.create_game("rps", options=options)
    started = grace.join(game["id"])
    ada.submit_move(game["id"], 1, {"throw": "rock"})
    assert started["deadline"] is not None

    clock_server.advance(TURN_SECONDS + 5)
    view = ada.poll_until(
        game["id"], lambda v: v["turn"] == 2, max_wait=WORKER_WAIT, wait=None
    )

    turn = ada.list_turns(game["id"])["turns"][0]
    assert turn["cause"] == "deadline"
    assert turn["timed_out"] == [grace.player_id]
    assert turn["moves"] == {ada.player_id: {"throw": "rock"}, grace.player_id: None}
    missed = {p["id"]: p["missed"] for p in view["players"]}
    assert missed == {ada.player_id: 0, grace.player_id: 1}
    assert view["deadline"] > started["deadline"]
    with pytest.raises(ApiError) as late:
        grace.submit_move(game["id"], 1, {"throw": "paper"})
    assert late.value.status == 409
    assert late.value.code == "turn_closed"


def test_forfeit_finishes_game_at_deadline(clock_server):
    ada, grace = phone(clock_server.url, "Ada"), phone(clock_server.url, "Grace")
    options = {"turn_seconds": TURN_SECONDS, "on_timeout": "forfeit"}
    game = ada.create_game("rps", options=options)
    grace.join(game["id"])
    grace.submit_move(game["id"], 1, {"throw": "paper"})

    clock_server.advance(TURN_SECONDS + 5)
    view = grace.poll_until(
        game["id"],
        lambda v: v["status"] == "finished",
        max_wait=WORKER_WAIT,
        wait=None,
    )

    assert view["outcome"] == {ada.player_id: "lost", grace.player_id: "won"}
    assert view["deadline"] is None
    statuses = {p["id"]: p["status"] for p in view["players"]}
    assert statuses[ada.player_id] == "out"


def test_invite_join_and_decline(server):
    ada, grace, eve = (phone(server.url, name) for name in ("Ada", "Grace", "Eve"))

    reserved = ada.create_game("rps", invite=[grace.player_id])
    with pytest.raises(ApiError) as full:
        eve.join(reserved["id"])
    invitations = {g["id"]: g["invited"] for g in grace.list_games()}
    started = grace.join(reserved["id"])

    assert full.value.status == 409
    assert full.value.code == "game_full"
    assert invitations[reserved["id"]] is True
    assert started["status"] == "active"

    declined_game = ada.create_game("rps", invite=[grace.player_id])
    declined = grace.decline(declined_game["id"])
    declined_again = grace.decline(declined_game["id"])
    joined = eve.join(declined_game["id"])

    assert declined["invited_players"] == []
    assert declined_again["version"] == declined["version"]
    assert joined["status"] == "active"
    assert {p["id"] for p in joined["players"]} == {ada.player_id, eve.player_id}


def test_invite_rejects_unknown_player(server):
    ada = phone(server.url, "Ada")

    with pytest.raises(ApiError) as rejected:
        ada.create_game("rps", invite=[str(uuid.uuid4())])

    assert rejected.value.status == 400
    assert rejected.value.code == "invalid_request"
    assert rejected.value.details["field"] == "invite"


def test_matchmake_and_rematch(server):
    ada, grace = phone(server.url, "Ada"), phone(server.url, "Grace")
    options = {"rounds": 1, "turn_seconds": 100_000 + uuid.uuid4().int % 1_000_000}

    opened = ada.matchmake("rps", options=options)
    matched = grace.matchmake("rps", options=options)
    assert matched["id"] == opened["id"]
    assert matched["status"] == "active"
    grace.resign(matched["id"])

    rematch = ada.rematch(matched["id"])
    accepted = grace.rematch(matched["id"])

    assert rematch["invited_players"] == [grace.player_id]
    assert accepted["id"] == rematch["id"]
    assert accepted["status"] == "active"
    assert ada.get_game(matched["id"]).body["rematch_id"] == rematch["id"]
