"""A write that fencing rejected sends no webhook; the committed one does.

The race is the one of test_fencing.py: client one reads the game inside
its lock, loses the lock, and goes on after client two committed. Webhooks
are on, and the dispatcher then delivers whatever the committed games row
holds to a recorder in this process.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from chat.services import chat_post
from games.services import game_get, turn_submit_move
from games.webhooks import Backoff, Dispatcher
from storage import get_storage
from tests.fencing.test_fencing import race  # noqa: F401 - the fixture

SECRET = "fencing-webhook-secret"


class RecordingPost:
    """Stands in for the HTTP POST: records each event body, answers 200."""

    def __init__(self):
        self.bodies: list[bytes] = []

    def __call__(self, url, body, headers, timeout):
        self.bodies.append(body)
        return 200


@pytest.fixture
def webhooks_on():
    with override_settings(
        LOCKSTEP_WEBHOOK_URL="http://127.0.0.1:9/unused", LOCKSTEP_WEBHOOK_SECRET=SECRET
    ):
        yield


def deliver_all(game_id: str) -> list[dict]:
    post = RecordingPost()
    dispatcher = Dispatcher(
        url="http://127.0.0.1:9/unused",
        secret=SECRET,
        max_age=3600,
        timeout=1,
        backoff=Backoff(base=0.01, cap=0.01),
        concurrency=1,
        post=post,
    )
    dispatcher.deliver_game(game_id)
    return [json.loads(body) for body in post.bodies]


@pytest.fixture
def race_with_webhooks(webhooks_on, race):  # noqa: F811 - the imported fixture
    return race


def test_stale_chat_post_sends_no_event(race_with_webhooks, backend_pair):
    first, second = race_with_webhooks.player_ids
    game_id = race_with_webhooks.game_id
    version = game_get(game_id=game_id).version

    error_one, (line_two, _) = race_with_webhooks.run(
        lambda: chat_post(
            player_id=first, game_id=game_id, text="abandoned", client_id="c-1"
        ),
        lambda: chat_post(
            player_id=second, game_id=game_id, text="committed", client_id="c-2"
        ),
    )
    events = deliver_all(game_id)

    assert isinstance(error_one, backend_pair.stale_commit_error), repr(error_one)
    chat_events = [event for event in events if event["type"] == "chat_posted"]
    assert [event["data"]["text"] for event in chat_events] == ["committed"]
    assert chat_events[0]["version"] == version + 1
    assert chat_events[0]["data"]["seq"] == line_two.seq == 1
    assert [event["type"] for event in events] == ["game_started", "chat_posted"]
    assert game_id not in get_storage().list_outbox_game_ids(100000)


def test_stale_resolution_sends_one_turn_event(race_with_webhooks, backend_pair):
    first, second = race_with_webhooks.player_ids
    game_id = race_with_webhooks.game_id
    turn_submit_move(player_id=first, game_id=game_id, turn=1, move={"first": 1})

    error_one, result_two = race_with_webhooks.run(
        lambda: turn_submit_move(
            player_id=second, game_id=game_id, turn=1, move={"device": "one"}
        ),
        lambda: turn_submit_move(
            player_id=second, game_id=game_id, turn=1, move={"device": "two"}
        ),
    )
    events = deliver_all(game_id)

    assert isinstance(error_one, backend_pair.stale_commit_error), repr(error_one)
    assert result_two.resolved is True
    resolved = [event for event in events if event["type"] == "turn_resolved"]
    assert len(resolved) == 1
    assert resolved[0]["version"] == game_get(game_id=game_id).version
