"""A webhook receiver on 127.0.0.1 that misbehaves on purpose, for the tests.

Each request is answered according to `behaviour(event, attempt)`, where
`attempt` counts the requests for that event id so far (1 for the first):

- "ok": 200 at once;
- "fail": 500 at once;
- "hang": no answer for `hang_seconds`, longer than the sender's timeout;
- "slow": 200 after `slow_seconds`, within the sender's timeout.

Every request is recorded with its event, signature check and answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Delivery:
    """One request the receiver got."""

    event: dict
    signature_valid: bool
    answer: str
    received_at: float
    # Whether the sender got a 2xx in time: "ok" and "slow" answers.
    delivered: bool


class WebhookReceiver:
    def __init__(
        self,
        secret: str,
        behaviour: Callable[[dict, int], str] = lambda event, attempt: "ok",
        hang_seconds: float = 2.0,
        slow_seconds: float = 0.2,
    ):
        self.secret = secret.encode("utf-8")
        self.behaviour = behaviour
        self.hang_seconds = hang_seconds
        self.slow_seconds = slow_seconds
        self.deliveries: list[Delivery] = []
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        # A hung answer finds the sender gone; that error is expected.
        self._httpd.handle_error = lambda request, client_address: None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/hooks/lockstep"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def delivered_events(self) -> list[dict]:
        """Return the events answered with a 2xx, in arrival order."""
        with self._lock:
            return [d.event for d in self.deliveries if d.delivered]

    def all_deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def _record(self, body: bytes, signature: str) -> tuple[dict, str]:
        event = json.loads(body)
        expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        with self._lock:
            attempt = self._attempts.get(event["id"], 0) + 1
            self._attempts[event["id"]] = attempt
        answer = self.behaviour(event, attempt)
        with self._lock:
            self.deliveries.append(
                Delivery(
                    event=event,
                    signature_valid=hmac.compare_digest(signature, expected),
                    answer=answer,
                    received_at=time.monotonic(),
                    delivered=answer in ("ok", "slow"),
                )
            )
        return event, answer

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                signature = self.headers.get("X-Lockstep-Signature", "")
                _, answer = receiver._record(body, signature)
                if answer == "hang":
                    time.sleep(receiver.hang_seconds)
                elif answer == "slow":
                    time.sleep(receiver.slow_seconds)
                status = 500 if answer in ("fail", "hang") else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format, *args):
                pass

        return Handler


def check_version_order(deliveries: list[Delivery]) -> None:
    """Assert that no event was sent before every older event of its game was delivered.

    Events of one commit share a version; among them any order is allowed.
    """
    events_by_game: dict[str, dict[str, dict]] = {}
    for delivery in deliveries:
        event = delivery.event
        events_by_game.setdefault(event["game"], {})[event["id"]] = event
    delivered: set[str] = set()
    for delivery in deliveries:
        event = delivery.event
        older = [
            other
            for other in events_by_game[event["game"]].values()
            if other["version"] < event["version"]
        ]
        missing = [other["id"] for other in older if other["id"] not in delivered]
        assert not missing, (
            f"event {event['id']} of game {event['game']} version "
            f"{event['version']} was sent before older events {missing} were "
            "delivered"
        )
        if delivery.delivered:
            delivered.add(event["id"])
