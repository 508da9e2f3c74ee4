"""A sequential JSON client on one keep-alive connection, for latency samples.

It uses http.client directly, so a sample is the server's time plus one
loopback round trip, without the overhead of a higher-level library.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float


class BenchClient:
    """Send requests to `base_url` (http://127.0.0.1:PORT) one at a time."""

    def __init__(self, base_url: str, timeout: float = 30.0):
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"Benchmarks only target loopback, got {base_url!r}.")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request and return its reply and its duration in seconds.

        A connection that the server closed while idle is opened again and
        the request sent once more, outside the timed part.
        """
        sent_headers = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            sent_headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            sent_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                started = time.perf_counter()
                conn.request(method, path, body=payload, headers=sent_headers)
                response = conn.getresponse()
                raw = response.read()
                seconds = time.perf_counter() - started
            except (
                http.client.RemoteDisconnected,
                ConnectionResetError,
                BrokenPipeError,
            ):
                self.close()
                if attempt == 2:
                    raise
                continue
            reply_headers = {k.lower(): v for k, v in response.getheaders()}
            parsed = json.loads(raw) if raw else None
            return Reply(response.status, reply_headers, parsed, seconds)
        raise AssertionError("unreachable")

    def expect(self, status: int, method: str, path: str, **kwargs) -> Reply:
        """Send a request and raise RuntimeError unless the status is `status`."""
        reply = self.request(method, path, **kwargs)
        if reply.status != status:
            raise RuntimeError(
                f"{method} {path} returned {reply.status}, expected {status}: "
                f"{str(reply.body)[:300]}"
            )
        return reply

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout
            )
        return self._conn
