"""HTTP client for the Lockstep API, behaving the way the iPhone app does.

One client stores one player's token, ETag cache and HTTP session. It is not
thread-safe: give each thread (each simulated phone) its own client.

Retries follow the rules of the API. Reads, move submissions (a repeated move
for a resolved turn returns 200) and chat posts that carry a client_id are
idempotent, so they are retried after a timeout, a lost connection, a 503 or
a 429. Creating a player or a game, and resigning, are retried only when the
request provably had no effect: the connection was never opened, the server
responded with 429, or it responded with 503 ``unavailable``, which the API
defines as "nothing was written". The exception is a 503 whose details carry
``"outcome": "unknown"``: storage failed in the middle of the commit, and the
change may have been applied.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import requests

from .errors import ApiError, PollTimeout
from .retry import RetryPolicy

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
USER_AGENT = "lockstep-ios-client-stub/0.1"

# Poll intervals below this are raised to it, so that a server suggesting
# "X-Poll-Interval: 0" cannot put the client in a busy loop.
MIN_POLL_INTERVAL = 0.05

# Seconds a waiting poll asks the server to hold it; the API allows up to 30.
LONG_POLL_SECONDS = 25.0

# Maximum number of (URL, ETag) entries kept. Chat polling with a moving
# cursor creates a new URL every time, so the cache must not grow forever.
ETAG_CACHE_SIZE = 256


@dataclass(frozen=True)
class Snapshot:
    """Result of a conditional GET.

    ``body`` is the JSON body, taken from the cache when the server responded
    with 304 Not Modified. ``changed`` is False when the body equals the previously
    cached one, and True on the first fetch. ``not_modified`` is True when the
    server responded with 304. ``poll_interval`` is the server's X-Poll-Interval
    suggestion in seconds, or None when absent.
    """

    body: Any
    changed: bool
    not_modified: bool
    etag: str | None
    poll_interval: float | None


@dataclass(frozen=True)
class ChatPost:
    """Result of a chat post.

    ``status`` is 201 when the server added the line and 200 when it already
    had a line with this ``client_id`` from the same player and returned it.
    A 200 can also follow an automatic retry whose first try reached the server.
    """

    message: dict[str, Any]
    status: int
    client_id: str

    @property
    def created(self) -> bool:
        return self.status == 201


@dataclass(frozen=True)
class _CacheEntry:
    etag: str
    body: Any


class LockstepClient:
    """One player's session with a Lockstep server.

    ``timeout`` is the connect and read timeout of one HTTP request in
    seconds. ``sleep`` and ``clock`` drive polling and, unless ``retry`` is
    given, the default RetryPolicy, so tests can replace them. ``stats``
    counts HTTP requests sent, 304 responses and retries.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.player_id: str | None = None
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.retry = (
            retry if retry is not None else RetryPolicy(sleep=sleep, clock=clock)
        )
        self.stats: Counter[str] = Counter()
        # Whether the server holds polls that carry ``wait``: it does when it
        # sends X-Poll-Interval, which came with the same API addition.
        self.server_waits = False
        self._etag_cache: OrderedDict[str, _CacheEntry] = OrderedDict()

    def __repr__(self) -> str:
        # The token is a bearer credential, so only its presence is shown.
        token = "set" if self.token else "none"
        return (
            f"LockstepClient({self.base_url!r}, player_id={self.player_id!r}, "
            f"token={token})"
        )

    # Players and health

    def register(self, name: str) -> dict[str, Any]:
        """Create a player, store its id and token, and return the response body."""
        response = self._request(
            "POST",
            "/players",
            body={"name": name},
            authenticated=False,
            idempotent=False,
        )
        player = self._json(response)
        self.token = player["token"]
        self.player_id = player["id"]
        return player

    def me(self) -> dict[str, Any]:
        return self._json(self._request("GET", "/players/me", idempotent=True))

    def health(self) -> dict[str, Any]:
        """Return the health body; a 503 raises ApiError after the retries."""
        response = self._request("GET", "/health", authenticated=False, idempotent=True)
        return self._json(response)

    # Games

    def create_game(
        self,
        ruleset: str,
        seats: int = 2,
        options: dict[str, Any] | None = None,
        invite: list[str] | None = None,
    ) -> dict[str, Any]:
        """Create a game with the caller in seat 0 and return its view.

        ``invite`` lists player ids whose seats are reserved: only they can
        join them, or give them up with ``decline``.
        """
        body: dict[str, Any] = {
            "ruleset": ruleset,
            "seats": seats,
            "options": options if options is not None else {},
        }
        if invite is not None:
            body["invite"] = invite
        response = self._request("POST", "/games", body=body, idempotent=False)
        return self._json(response)

    def list_games(self, view: str | None = None) -> list[dict[str, Any]]:
        """Return the caller's game summaries, or with view="open" the joinable ones."""
        params = {"view": view} if view is not None else None
        response = self._request("GET", "/games", params=params, idempotent=True)
        return self._json(response)["games"]

    def join(self, game_id: str) -> dict[str, Any]:
        """Take a seat and return the game view. Joining twice is a no-op."""
        path = f"{_game_path(game_id)}/join"
        return self._json(self._request("POST", path, idempotent=True))

    def matchmake(
        self, ruleset: str, seats: int = 2, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Take a seat in the oldest waiting game with these settings, or open one.

        Returns the game view. Not retried after an unknown outcome: a
        repeat after the matched game started would open a second game.
        """
        body = {
            "ruleset": ruleset,
            "seats": seats,
            "options": options if options is not None else {},
        }
        response = self._request("POST", "/matchmaking", body=body, idempotent=False)
        return self._json(response)["game"]

    def decline(self, game_id: str) -> dict[str, Any]:
        """Give up the seat an invitation reserved; declining twice is a no-op."""
        path = f"{_game_path(game_id)}/decline"
        return self._json(self._request("POST", path, idempotent=True))

    def rematch(self, game_id: str) -> dict[str, Any]:
        """Return the rematch of a finished game, creating it on the first call.

        Every call for the same game returns the same rematch, so the call
        is safe to retry. A caller whom the rematch invites takes the seat.
        """
        path = f"{_game_path(game_id)}/rematch"
        return self._json(self._request("POST", path, idempotent=True))["game"]

    def get_game(self, game_id: str, wait: float | None = None) -> Snapshot:
        """Fetch the game view, sending If-None-Match with the last ETag seen.

        With ``wait`` (0 to 30 seconds) the server keeps the request open until
        the game changes or the time passes, and returns 304 when nothing changed.
        """
        params = {"wait": _format_seconds(wait)} if wait is not None else None
        return self._get_conditional(_game_path(game_id), params, wait=wait)

    def poll_until(
        self,
        game_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        max_wait: float = 60.0,
        initial_interval: float = 0.2,
        max_interval: float = 2.0,
        wait: float | None = LONG_POLL_SECONDS,
    ) -> dict[str, Any]:
        """Poll the game view until ``predicate(view)`` is true and return that view.

        A server that sends X-Poll-Interval also holds polls that carry
        ``wait``. Once it is known to, each poll asks it to wait up to
        ``wait`` seconds (within ``max_wait``) and answer as soon as the
        game changes, and the next poll starts no sooner than
        X-Poll-Interval seconds after the previous one started: at once
        after a poll the server held, and never in a busy loop. Without the
        header the client waits ``initial_interval`` seconds, doubling up
        to ``max_interval`` while nothing changes and starting over after
        each change. ``wait=None`` turns waiting polls off. Raises
        PollTimeout after ``max_wait`` seconds.
        """
        deadline = self.clock() + max_wait
        interval = initial_interval
        while True:
            started = self.clock()
            hold = None
            if wait is not None and self.server_waits:
                hold = round(max(0.0, min(wait, deadline - started)), 1)
            snapshot = self.get_game(game_id, wait=hold)
            view = snapshot.body
            if predicate(view):
                return view

            remaining = deadline - self.clock()
            if remaining <= 0:
                raise PollTimeout(game_id, max_wait, view)
            if snapshot.changed:
                interval = initial_interval
            if snapshot.poll_interval is not None:
                pause = max(MIN_POLL_INTERVAL, snapshot.poll_interval)
                if hold is not None:
                    # The time the server held the poll counts as waiting.
                    pause -= self.clock() - started
            else:
                pause = interval
            if pause > 0:
                self.sleep(min(pause, remaining))
            interval = min(max_interval, interval * 2)

    def resign(self, game_id: str) -> dict[str, Any]:
        """Resign from the game and return its view."""
        path = f"{_game_path(game_id)}/resign"
        return self._json(self._request("POST", path, idempotent=False))

    # Turns

    def submit_move(self, game_id: str, turn: int, move: Any) -> dict[str, Any]:
        """Set the caller's move for ``turn``.

        Returns ``{"turn", "resolved", "game"}``. Resending the same move for
        a resolved turn returns 200, which makes this call safe to retry.
        """
        path = f"{_game_path(game_id)}/turns/{int(turn)}/move"
        response = self._request("PUT", path, body={"move": move}, idempotent=True)
        return self._json(response)

    def list_turns(
        self, game_id: str, after: int = 0, limit: int = 20
    ) -> dict[str, Any]:
        """Return the resolved turns after ``after`` as ``{"turns", "next_after"}``."""
        path = f"{_game_path(game_id)}/turns"
        params = {"after": int(after), "limit": int(limit)}
        response = self._request("GET", path, params=params, idempotent=True)
        return self._json(response)

    # Chat

    def post_chat(
        self, game_id: str, text: str, client_id: str | None = None
    ) -> ChatPost:
        """Append a chat line.

        A generated ``client_id`` is used when none is given, so that the
        automatic retry of a post whose response was lost cannot add the line
        twice. Pass the returned ``client_id`` to repeat the post safely.
        """
        if client_id is None:
            client_id = f"ios-{uuid.uuid4().hex}"
        path = f"{_game_path(game_id)}/chat"
        response = self._request(
            "POST",
            path,
            body={"text": text, "client_id": client_id},
            idempotent=True,
        )
        return ChatPost(self._json(response), response.status_code, client_id)

    def chat_latest(self, game_id: str, limit: int = 50) -> Snapshot:
        """Fetch the latest ``limit`` chat lines, with If-None-Match."""
        return self._get_chat(game_id, {"limit": int(limit)})

    def chat_after(
        self,
        game_id: str,
        after: int,
        limit: int = 50,
        wait: float | None = None,
    ) -> Snapshot:
        """Fetch chat lines with ``seq`` above ``after``, with If-None-Match.

        With ``wait`` the server keeps the request open for up to that many
        seconds and returns an empty ``messages`` list when no line arrives.
        """
        params: dict[str, Any] = {"after": int(after), "limit": int(limit)}
        if wait is not None:
            params["wait"] = _format_seconds(wait)
        return self._get_chat(game_id, params, wait=wait)

    def chat_before(self, game_id: str, before: int, limit: int = 50) -> Snapshot:
        """Fetch the ``limit`` chat lines just before ``seq`` ``before``."""
        return self._get_chat(game_id, {"before": int(before), "limit": int(limit)})

    def _get_chat(
        self, game_id: str, params: dict[str, Any], wait: float | None = None
    ) -> Snapshot:
        path = f"{_game_path(game_id)}/chat"
        return self._get_conditional(path, params, wait=wait)

    # HTTP

    def _get_conditional(
        self,
        path: str,
        params: dict[str, Any] | None,
        wait: float | None = None,
    ) -> Snapshot:
        """GET with If-None-Match from the ETag cache, and update the cache."""
        cache_params = {k: v for k, v in (params or {}).items() if k != "wait"}
        cache_key = path + "?" + urlencode(sorted(cache_params.items()))
        cached = self._etag_cache.get(cache_key)
        headers = {"If-None-Match": cached.etag} if cached is not None else None

        try:
            response = self._request(
                "GET",
                path,
                params=params,
                headers=headers,
                idempotent=True,
                extra_read_timeout=wait or 0.0,
            )
        except ApiError as error:
            if error.status in (403, 404):
                self._etag_cache.pop(cache_key, None)
            raise
        poll_interval = _parse_seconds(response.headers.get("X-Poll-Interval"))
        if poll_interval is not None:
            self.server_waits = True

        if response.status_code == 304:
            if cached is None:
                raise ApiError(
                    304,
                    None,
                    "server returned 304 Not Modified to a request without "
                    "If-None-Match",
                    method="GET",
                    path=path,
                )
            self.stats["not_modified"] += 1
            self._etag_cache.move_to_end(cache_key)
            return Snapshot(cached.body, False, True, cached.etag, poll_interval)

        body = self._json(response)
        changed = cached is None or body != cached.body
        etag = response.headers.get("ETag")
        if etag:
            self._etag_cache[cache_key] = _CacheEntry(etag, body)
            self._etag_cache.move_to_end(cache_key)
            while len(self._etag_cache) > ETAG_CACHE_SIZE:
                self._etag_cache.popitem(last=False)
        else:
            self._etag_cache.pop(cache_key, None)
        return Snapshot(body, changed, False, etag, poll_interval)

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
        extra_read_timeout: float = 0.0,
    ) -> requests.Response:
        """Send one API request with retries and return a 2xx or 304 response.

        Raises ApiError for any other status, and the requests exception when
        the transport still fails after the retries.
        """
        full_path = API_PREFIX + path
        url = self.base_url + full_path
        request_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if authenticated:
            if self.token is None:
                raise RuntimeError(
                    f"{method} {full_path} needs a token: call register() first "
                    "or pass token= to LockstepClient"
                )
            request_headers["Authorization"] = f"Bearer {self.token}"
        if headers:
            request_headers.update(headers)

        data = None
        if body is not None:
            # Non-ASCII text goes out as raw UTF-8 rather than \u escapes, so
            # the server's UTF-8 decoding is exercised.
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            request_headers["Content-Type"] = "application/json"

        timeout = (self.timeout, self.timeout + extra_read_timeout)
        tries = 0

        def send() -> requests.Response:
            nonlocal tries
            tries += 1
            if tries > 1:
                self.stats["retries"] += 1
            self.stats["requests"] += 1
            response = self.session.request(
                method,
                url,
                params=params,
                data=data,
                headers=request_headers,
                timeout=timeout,
            )
            if 200 <= response.status_code < 300 or response.status_code == 304:
                return response
            raise ApiError.from_response(response)

        return self.retry.call(
            send,
            lambda error: is_retryable(error, idempotent=idempotent),
            description=f"{method} {full_path}",
        )

    @staticmethod
    def _json(response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError as error:
            request = response.request
            raise ApiError(
                response.status_code,
                None,
                f"response body is not valid JSON: {response.text[:200]!r}",
                method=request.method if request is not None else None,
                path=request.path_url if request is not None else None,
            ) from error


def is_retryable(error: Exception, *, idempotent: bool) -> bool:
    """Return whether a failed request may be sent again.

    A request that is not idempotent is retried only when it provably had no
    effect: the connection was never opened, the server throttled it (429),
    or the server responded with 503 ``unavailable``, which means nothing was
    written unless its details carry ``"outcome": "unknown"``.
    """
    if isinstance(error, ApiError):
        if error.status == 429:
            return True
        if error.status == 503:
            # The one 503 after which the change may have been applied.
            outcome_unknown = error.details.get("outcome") == "unknown"
            return idempotent or (error.code == "unavailable" and not outcome_unknown)
        return False
    # ConnectTimeout is also a ConnectionError and a Timeout, so test it first.
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, (requests.Timeout, requests.ConnectionError)):
        return idempotent
    return False


def _game_path(game_id: str) -> str:
    return f"/games/{quote(str(game_id), safe='')}"


def _format_seconds(seconds: float) -> str:
    # The server accepts at most three decimals.
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _parse_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds
