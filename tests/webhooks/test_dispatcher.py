"""The webhook outbox and dispatcher, through the real services in this process.

Games are played with the service functions on a private SQLite file. The
dispatcher posts to a receiver on 127.0.0.1 that fails, hangs or answers
slowly when told to, and runs on fake clocks so that backoff and event age
need no sleeping.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from chat.services import chat_post
from games import outbox
from games.services import game_create, game_get, game_join, turn_submit_move
from games.webhooks import Backoff, Dispatcher, sign
from gameserver import clock
from players.services import player_create
from storage import get_storage
from tests.webhook_receiver import check_version_order
from tests.webhooks.conftest import SECRET

MAX_AGE = 3600
# Seconds the dispatcher waits for a response; the receiver hangs for longer.
TIMEOUT = 0.3


class FakeClocks:
    """The dispatcher's retry clock and the server clock, moved by hand."""

    def __init__(self):
        self.seconds = 0.0
        self.ahead = timedelta(0)

    def monotonic(self) -> float:
        return self.seconds

    def now(self):
        return clock.now() + self.ahead


@pytest.fixture
def clocks():
    return FakeClocks()


@pytest.fixture
def dispatcher(services_with_webhooks, clocks):
    return Dispatcher(
        url=services_with_webhooks.url,
        secret=SECRET,
        max_age=MAX_AGE,
        timeout=TIMEOUT,
        backoff=Backoff(base=1, cap=8, random=lambda: 1.0),
        concurrency=4,
        now=clocks.now,
        monotonic=clocks.monotonic,
    )


def drain(dispatcher: Dispatcher, clocks: FakeClocks, rounds: int = 40) -> None:
    """Run rounds, skipping every backoff, until no game has events left."""
    for _ in range(rounds):
        dispatcher.run_once()
        if not get_storage().list_outbox_game_ids(10):
            return
        clocks.seconds += 100
    pytest.fail(f"events still undelivered after {rounds} rounds")


def started_game(max_turns: int = 2) -> tuple[str, str, str]:
    ada, bob = str(uuid.uuid4()), str(uuid.uuid4())
    game = game_create(
        player_id=ada,
        player_name="Ada",
        ruleset="lockstep",
        seats=2,
        options={"max_turns": max_turns},
    )
    game_join(player_id=bob, player_name="Bob", game_id=game.id)
    return game.id, ada, bob


def play_short_game(game_id: str, ada: str, bob: str) -> None:
    """Chat, two turns with a chat line between, and the end by max_turns."""
    chat_post(player_id=ada, game_id=game_id, text="good luck", client_id=None)
    for turn in (1, 2):
        turn_submit_move(player_id=ada, game_id=game_id, turn=turn, move=[turn])
        turn_submit_move(player_id=bob, game_id=game_id, turn=turn, move=[turn])
        if turn == 1:
            chat_post(player_id=bob, game_id=game_id, text="gg", client_id=None)


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_events_arrive_in_version_order_signed(dispatcher, clocks, receiver):
    game_id, ada, bob = started_game()
    play_short_game(game_id, ada, bob)

    drain(dispatcher, clocks)

    events = receiver.delivered_events()
    assert [event["type"] for event in events] == [
        "game_started",
        "chat_posted",
        "turn_resolved",
        "chat_posted",
        "turn_resolved",
        "game_finished",
    ]
    versions = [event["version"] for event in events]
    assert versions == sorted(versions)
    assert versions[-2] == versions[-1] == game_get(game_id=game_id).version
    assert all(d.signature_valid for d in receiver.all_deliveries())
    assert {event["game"] for event in events} == {game_id}
    assert len({event["id"] for event in events}) == len(events)


def test_event_fields(dispatcher, clocks, receiver):
    game_id, ada, bob = started_game()
    play_short_game(game_id, ada, bob)

    drain(dispatcher, clocks)

    started, chat, resolved, _, _, finished = receiver.delivered_events()
    assert set(started) == {"id", "type", "game", "version", "notify", "at", "data"}
    assert started["notify"] == [ada]
    assert started["data"] == {
        "ruleset": "lockstep",
        "turn": 1,
        "players": [ada, bob],
    }
    assert chat["notify"] == [bob]
    assert chat["data"] == {"seq": 1, "player": ada, "text": "good luck"}
    assert resolved["data"] == {
        "turn": 1,
        "cause": "all_in",
        "timed_out": [],
        "next_turn": 2,
    }
    assert sorted(resolved["notify"]) == sorted([ada, bob])
    assert finished["data"]["outcome"] == {ada: "draw", bob: "draw"}
    assert sorted(finished["notify"]) == sorted([ada, bob])
    assert started["at"].endswith("Z")


def test_signature_is_hmac_sha256_of_body():
    # The expected value is the output of
    # `printf '<body>' | openssl dgst -sha256 -hmac key` (OpenSSL 3).
    body = b"The quick brown fox jumps over the lazy dog"

    assert sign(body, "key") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


def test_failed_deliveries_retried_in_order(dispatcher, clocks, receiver):
    # Every event fails, then hangs past the timeout, then answers slowly.
    receiver.behaviour = lambda event, attempt: {1: "fail", 2: "hang"}.get(
        attempt, "slow" if attempt == 3 else "ok"
    )
    receiver.hang_seconds = TIMEOUT * 3
    receiver.slow_seconds = TIMEOUT / 3
    games = [started_game() for _ in range(2)]
    for game_id, ada, bob in games:
        play_short_game(game_id, ada, bob)
    failures_before = sample(
        "lockstep_webhook_delivery_failures_total", reason="timeout"
    )

    drain(dispatcher, clocks)

    deliveries = receiver.all_deliveries()
    delivered = receiver.delivered_events()
    assert len(delivered) == 12
    assert len({event["id"] for event in delivered}) == 12
    # The same event id came three times: failed, hung, then answered.
    attempts = {}
    for delivery in deliveries:
        attempts.setdefault(delivery.event["id"], []).append(delivery.answer)
    assert all(answers == ["fail", "hang", "slow"] for answers in attempts.values())
    check_version_order(deliveries)
    assert (
        sample("lockstep_webhook_delivery_failures_total", reason="timeout")
        - failures_before
        == 12
    )


def test_backoff_doubles_up_to_cap():
    longest = Backoff(base=1, cap=8, random=lambda: 1.0)
    shortest = Backoff(base=1, cap=8, random=lambda: 0.0)

    assert [longest.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    assert [shortest.delay(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 4, 4]


def test_retry_waits_for_backoff(dispatcher, clocks, receiver):
    receiver.behaviour = lambda event, attempt: "fail" if attempt == 1 else "ok"
    game_id, _, _ = started_game()

    dispatcher.run_once()
    clocks.seconds += 0.5
    dispatcher.run_once()
    attempts_before_backoff = len(receiver.all_deliveries())
    clocks.seconds += 1
    dispatcher.run_once()

    assert attempts_before_backoff == 1
    assert [d.answer for d in receiver.all_deliveries()] == ["fail", "ok"]
    assert not get_storage().list_outbox_game_ids(10)


def test_event_older_than_max_age_given_up(dispatcher, clocks, receiver, caplog):
    receiver.behaviour = lambda event, attempt: "fail"
    game_id, _, _ = started_game()
    dropped_before = sample("lockstep_webhook_events_dropped_total", reason="max_age")
    dispatcher.run_once()

    clocks.ahead = timedelta(seconds=MAX_AGE + 1)
    clocks.seconds += 100
    with caplog.at_level(logging.ERROR, logger="games.webhooks"):
        dispatcher.run_once()

    assert len(receiver.all_deliveries()) == 1
    assert get_storage().get_outbox_cursor(game_id) == game_get(game_id=game_id).version
    assert not get_storage().list_outbox_game_ids(10)
    assert "Gave up webhook event" in caplog.text
    assert game_id in caplog.text
    assert (
        sample("lockstep_webhook_events_dropped_total", reason="max_age")
        - dropped_before
        == 1
    )


def test_next_commit_trims_delivered_events(dispatcher, clocks, receiver):
    game_id, ada, bob = started_game()
    assert [e["type"] for e in game_get(game_id=game_id).outbox] == ["game_started"]
    drain(dispatcher, clocks)

    chat_post(player_id=ada, game_id=game_id, text="after", client_id=None)

    assert [e["type"] for e in game_get(game_id=game_id).outbox] == ["chat_posted"]


def test_outbox_keeps_newest_events_when_full(
    services_with_webhooks, monkeypatch, caplog
):
    monkeypatch.setattr(outbox, "MAX_OUTBOX_EVENTS", 3)
    game_id, ada, _ = started_game()
    dropped_before = sample(
        "lockstep_webhook_events_dropped_total", reason="outbox_full"
    )

    with caplog.at_level(logging.ERROR, logger="games.outbox"):
        for seq in range(1, 5):
            chat_post(player_id=ada, game_id=game_id, text=f"l{seq}", client_id=None)

    kept = game_get(game_id=game_id).outbox
    assert [event["data"]["seq"] for event in kept] == [2, 3, 4]
    assert "Dropped 1 undelivered webhook events" in caplog.text
    assert (
        sample("lockstep_webhook_events_dropped_total", reason="outbox_full")
        - dropped_before
        == 2
    )


def test_no_events_without_webhook_url(services_with_webhooks):
    with override_settings(LOCKSTEP_WEBHOOK_URL=""):
        game_id, ada, bob = started_game()
        play_short_game(game_id, ada, bob)

    assert game_get(game_id=game_id).outbox == []
    assert get_storage().list_outbox_game_ids(10) == []


def test_mark_of_missing_game_removed_later(dispatcher, clocks):
    storage = get_storage()
    storage.add_outbox_game("not-a-game", 1)

    dispatcher.run_once()
    kept = storage.list_outbox_game_ids(10)
    clocks.seconds += 61
    dispatcher.run_once()

    assert kept == ["not-a-game"]
    assert storage.list_outbox_game_ids(10) == []


def test_invite_sends_invited_event(dispatcher, clocks, receiver):
    ada = str(uuid.uuid4())
    bob, _ = player_create(name="Bob")
    bob = bob.id

    game = game_create(
        player_id=ada,
        player_name="Ada",
        ruleset="lockstep",
        seats=2,
        options={},
        invite=[bob],
    )
    drain(dispatcher, clocks)

    [event] = receiver.delivered_events()
    assert event["type"] == "invited"
    assert event["version"] == game.version == 1
    assert event["notify"] == [bob]
    assert event["data"]["by"] == ada
