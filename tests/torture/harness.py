"""Torture harness: many simulated phones play many games at once, then every
request and the stored data are checked against Lockstep's invariants.

Each phone is a thread with its own `ios_client_stub.LockstepClient` (and
so its own HTTP session, ETag cache and retry policy) and its own seeded
random generator. For a bounded time each phone picks, at random:

- a move for the current turn of one of its games, sometimes followed by a
  different move (a replaced move) or by the same move again (a retry);
- a chat post with a client_id, sometimes sent again with the same
  client_id, or without a client_id, sometimes sent twice on purpose;
- a poll of a game view or of the chat, with the ETag of the last response;
- a read of the resolved turns;
- creating a game, or joining an open one, while it has few games;
- resigning, rarely.

A recording `requests.Session` keeps every HTTP attempt, retries
included: method, path, request body, status or transport error,
response body, headers and times. `check_records` and `check_storage`
then look for violations:

- no response has status 500 or 502, and no status outside the expected
  set for its request;
- every turn of every game is stored once, numbered 1 to the game's
  resolved turn count without gaps, and every reader saw the same content
  for it (a second resolution would differ);
- each player's move in a resolved turn is the last one the player had
  acknowledged for that turn, or a later one whose outcome the player
  never learned (a transport error);
- the game versions a phone sees never go down, and one version always
  comes with the same game state;
- the chat has seq 1 to chat_seq without gaps; every acknowledged line is
  stored at its seq with its text; a client_id maps to one line; a text
  sent without client_id is stored as often as it was acknowledged, plus
  at most the sends whose outcome is unknown.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ios_client_stub import ApiError, LockstepClient, RetryPolicy

logger = logging.getLogger(__name__)

API = "/api/v1"

# Statuses that no request of the harness may get.
FORBIDDEN_STATUSES = {500, 502}

# Statuses each kind of request may get besides 2xx and 304. 503 is allowed
# everywhere because it is the documented response to a busy lock or a
# service outage, and 429 because the rate limits apply to phones too.
ALLOWED_ERRORS = {
    "move": {409, 429, 503},
    "chat": {429, 503},
    "join": {409, 503},
    "resign": {409, 503},
    "create": {503},
    "register": {503},
    "read": {503},
}

# Unfinished games a phone keeps before it stops creating or joining more.
GAMES_PER_PHONE = 3


@dataclass
class Record:
    """One HTTP attempt as a phone sent it and what came back."""

    phone: int
    kind: str
    method: str
    path: str
    body: Any
    started: float
    ended: float
    status: int | None = None
    response: Any = None
    etag: str | None = None
    retry_after: str | None = None
    error: str | None = None

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def outcome_unknown(self) -> bool:
        """Whether the phone never learned if the request took effect.

        That is a transport error, or the 503 whose details carry
        `"outcome": "unknown"` (storage failed in the middle of the commit).
        """
        if self.status is None:
            return True
        if self.status != 503 or not isinstance(self.response, dict):
            return False
        details = self.response.get("error", {}).get("details", {})
        return details.get("outcome") == "unknown"

    @property
    def game_id(self) -> str | None:
        parts = self.path.split("/")
        # /api/v1/games/<id>/...
        if len(parts) > 4 and parts[3] == "games":
            return parts[4]
        return None


class RecordingSession(requests.Session):
    """A requests.Session that appends a Record for every request it sends.

    The phone sets `kind` before each API call, so retries made inside the
    client are recorded with the kind of the call.
    """

    def __init__(self, phone: int, sink: list[Record], guard: threading.Lock):
        super().__init__()
        self.phone = phone
        self.kind = "read"
        self._sink = sink
        self._guard = guard

    def request(self, method, url, **kwargs):
        data = kwargs.get("data")
        if data is None and kwargs.get("json") is not None:
            body = kwargs["json"]
        else:
            body = json.loads(data) if data else None
        record = Record(
            phone=self.phone,
            kind=self.kind,
            method=method,
            path=urlsplit(url).path,
            body=body,
            started=time.monotonic(),
            ended=0.0,
        )
        try:
            response = super().request(method, url, **kwargs)
        except requests.RequestException as exc:
            record.ended = time.monotonic()
            record.error = f"{type(exc).__name__}: {exc}"
            self._append(record)
            raise
        record.ended = time.monotonic()
        record.status = response.status_code
        record.etag = response.headers.get("ETag")
        record.retry_after = response.headers.get("Retry-After")
        if response.content:
            try:
                record.response = response.json()
            except ValueError:
                record.response = response.text[:300]
        self._append(record)
        return response

    def _append(self, record: Record) -> None:
        with self._guard:
            self._sink.append(record)


@dataclass
class TortureConfig:
    """What to run: phones, time, randomness and client behaviour."""

    base_url: str
    seed: int = 1
    phones: int = 10
    duration: float = 20.0
    # Seconds one HTTP request may take before the client gives up on it.
    request_timeout: float = 10.0
    # Maximum pause in seconds between two actions of one phone.
    think_time: float = 0.05
    rulesets: tuple[str, ...] = ("lockstep", "lockstep", "rps")


@dataclass
class TortureResult:
    records: list[Record]
    game_ids: set[str]
    phone_errors: list[str]
    started: float
    ended: float
    violations: list[str] = field(default_factory=list)

    def status_counts(self) -> Counter:
        return Counter(
            record.status if record.status is not None else "error"
            for record in self.records
        )

    def summary(self) -> dict:
        return {
            "requests": len(self.records),
            "statuses": dict(sorted(self.status_counts().items(), key=str)),
            "games": len(self.game_ids),
            "seconds": round(self.ended - self.started, 1),
            "max_request_seconds": round(
                max((r.duration for r in self.records), default=0.0), 2
            ),
            "violations": len(self.violations),
        }


class Phone(threading.Thread):
    """One simulated iPhone: a player with its own client and random generator."""

    def __init__(self, index: int, config: TortureConfig, harness: Torture):
        super().__init__(name=f"torture-phone-{index}", daemon=True)
        self.index = index
        self.config = config
        self.harness = harness
        self.rng = random.Random(f"{config.seed}/phone/{index}")
        self.session = RecordingSession(index, harness.records, harness.guard)
        self.client = LockstepClient(
            config.base_url,
            timeout=config.request_timeout,
            session=self.session,
            retry=RetryPolicy(
                max_tries=3,
                max_retry_after=2.0,
                deadline=8.0,
                rng=random.Random(f"{config.seed}/retry/{index}"),
            ),
        )
        self.views: dict[str, dict] = {}
        self.counter = 0

    # -- loop ------------------------------------------------------------

    def run(self) -> None:
        try:
            self.call("register", self.client.register, f"phone-{self.index}")
        except Exception as exc:
            self.harness.phone_errors.append(f"phone {self.index} register: {exc!r}")
            return
        while not self.harness.stop.is_set():
            try:
                self.step()
            except (ApiError, requests.RequestException):
                # Recorded by the session; an outage or a conflict is part of
                # the run.
                pass
            except Exception as exc:
                logger.exception("Phone %s failed", self.index)
                self.harness.phone_errors.append(f"phone {self.index}: {exc!r}")
            self.harness.stop.wait(self.rng.uniform(0, self.config.think_time))

    def call(self, kind: str, function, *args, **kwargs):
        self.session.kind = kind
        return function(*args, **kwargs)

    def step(self) -> None:
        playing = [v for v in self.views.values() if v["status"] != "finished"]
        roll = self.rng.random()
        if len(playing) < GAMES_PER_PHONE and (not playing or roll < 0.12):
            self.find_game()
        elif roll < 0.45:
            self.move(self.rng.choice(playing))
        elif roll < 0.60:
            self.chat(self.rng.choice(playing))
        elif roll < 0.82:
            self.poll(self.rng.choice(list(self.views.values())))
        elif roll < 0.90:
            self.read_turns(self.rng.choice(list(self.views.values())))
        elif roll < 0.97:
            self.read_chat(self.rng.choice(list(self.views.values())))
        elif roll < 0.985 and playing:
            self.resign(self.rng.choice(playing))

    # -- actions ---------------------------------------------------------

    def find_game(self) -> None:
        open_games = self.call("read", self.client.list_games, view="open")
        joinable = [g for g in open_games if g["id"] not in self.views]
        if joinable and self.rng.random() < 0.75:
            game = self.rng.choice(joinable)
            self.harness.add_game(game["id"])
            self.remember(self.call("join", self.client.join, game["id"]))
            return
        ruleset = self.rng.choice(self.config.rulesets)
        if ruleset == "rps":
            seats, options = 2, {"rounds": self.rng.choice([1, 3])}
        else:
            seats, options = (
                self.rng.choice([2, 2, 3]),
                {"max_turns": self.rng.randint(4, 12)},
            )
        view = self.call("create", self.client.create_game, ruleset, seats, options)
        self.harness.add_game(view["id"])
        self.remember(view)

    def move(self, view: dict) -> None:
        if view["status"] != "active" or not self.my_move_needed(view):
            self.poll(view)
            return
        game_id, turn = view["id"], view["turn"]
        move = self.new_move(view)
        result = self.call("move", self.client.submit_move, game_id, turn, move)
        self.remember(result["game"])
        if result["resolved"]:
            return
        roll = self.rng.random()
        if roll < 0.2:
            replacement = self.new_move(view)
            result = self.call(
                "move", self.client.submit_move, game_id, turn, replacement
            )
            self.remember(result["game"])
        elif roll < 0.4:
            result = self.call("move", self.client.submit_move, game_id, turn, move)
            self.remember(result["game"])

    def new_move(self, view: dict):
        self.counter += 1
        if view["ruleset"] == "rps":
            return {"throw": self.rng.choice(["rock", "paper", "scissors"])}
        return {"phone": self.index, "turn": view["turn"], "n": self.counter}

    def chat(self, view: dict) -> None:
        self.counter += 1
        text = f"phone {self.index} line {self.counter} ✓ {uuid.uuid4().hex[:6]}"
        if self.rng.random() < 0.7:
            client_id = f"p{self.index}-{self.counter}"
            self.call("chat", self.client.post_chat, view["id"], text, client_id)
            if self.rng.random() < 0.3:
                self.call("chat", self.client.post_chat, view["id"], text, client_id)
            return
        # Without client_id the client cannot retry safely, so this goes
        # straight to the session, as an old app build would send it.
        sends = 2 if self.rng.random() < 0.3 else 1
        for _ in range(sends):
            self.session.kind = "chat"
            self.session.post(
                f"{self.config.base_url}{API}/games/{view['id']}/chat",
                json={"text": text},
                headers={"Authorization": f"Bearer {self.client.token}"},
                timeout=self.config.request_timeout,
            )

    def poll(self, view: dict) -> None:
        snapshot = self.call("read", self.client.get_game, view["id"])
        self.remember(snapshot.body)

    def read_turns(self, view: dict) -> None:
        after = max(0, view.get("turn", 1) - 3)
        self.call("read", self.client.list_turns, view["id"], after=after, limit=100)

    def read_chat(self, view: dict) -> None:
        after = max(0, view.get("chat_seq", 0) - 5)
        self.call("read", self.client.chat_after, view["id"], after=after)

    def resign(self, view: dict) -> None:
        self.remember(self.call("resign", self.client.resign, view["id"]))

    # -- helpers ---------------------------------------------------------

    def remember(self, view: dict) -> None:
        known = self.views.get(view["id"])
        if known is None or known["version"] <= view["version"]:
            self.views[view["id"]] = view

    def my_move_needed(self, view: dict) -> bool:
        me = self.client.player_id
        seat = next((p for p in view["players"] if p["id"] == me), None)
        return (
            seat is not None
            and seat["status"] == "active"
            and me not in view["submitted"]
        )


class Torture:
    """Runs the phones for the configured time and collects their records."""

    def __init__(self, config: TortureConfig):
        self.config = config
        self.records: list[Record] = []
        self.guard = threading.Lock()
        self.stop = threading.Event()
        self.game_ids: set[str] = set()
        self.phone_errors: list[str] = []
        self.phones = [Phone(i, config, self) for i in range(config.phones)]
        self.started = 0.0

    def add_game(self, game_id: str) -> None:
        with self.guard:
            self.game_ids.add(game_id)

    def start(self) -> None:
        self.started = time.monotonic()
        for phone in self.phones:
            phone.start()

    def finish(self) -> TortureResult:
        """Stop the phones once the configured time has passed; return the result."""
        remaining = self.started + self.config.duration - time.monotonic()
        if remaining > 0:
            self.stop.wait(remaining)
        self.stop.set()
        # A phone stops after its current call, which the retry policy's
        # deadline and the request timeout bound.
        join_deadline = time.monotonic() + 30 + self.config.request_timeout
        for phone in self.phones:
            phone.join(max(0.0, join_deadline - time.monotonic()))
        stuck = [phone.index for phone in self.phones if phone.is_alive()]
        errors = list(self.phone_errors)
        if stuck:
            errors.append(f"phones {stuck} did not stop within 30 s of the end")
        with self.guard:
            records = sorted(self.records, key=lambda r: r.started)
        return TortureResult(
            records=records,
            game_ids=set(self.game_ids),
            phone_errors=errors,
            started=self.started,
            ended=time.monotonic(),
        )

    def run(self) -> TortureResult:
        self.start()
        return self.finish()


# -- checks of the records ------------------------------------------------------


def check_records(result: TortureResult) -> list[str]:
    """Return violations visible in the HTTP records alone."""
    violations = [f"phone error: {error}" for error in result.phone_errors]
    for record in result.records:
        if record.status is None:
            continue
        if record.status in FORBIDDEN_STATUSES:
            violations.append(f"{record.status} for {record.method} {record.path}")
        elif record.status >= 400 and record.status not in ALLOWED_ERRORS[record.kind]:
            violations.append(
                f"unexpected {record.status} for {record.kind} {record.method} "
                f"{record.path}: {str(record.response)[:200]}"
            )
        if record.status in (429, 503) and not record.retry_after:
            violations.append(f"{record.status} without Retry-After: {record.path}")
    violations += check_versions(result.records)
    return violations


# Fields of a game view that one version must always come with.
VERSIONED_FIELDS = ("status", "turn", "submitted", "chat_seq", "outcome", "updated_at")


def game_view_of(record: Record) -> dict | None:
    """Return the game view a record's response carries, or None."""
    if record.status not in (200, 201) or not isinstance(record.response, dict):
        return None
    body = record.response
    view = body.get("game") if record.kind == "move" else body
    if isinstance(view, dict) and "version" in view and "players" in view:
        return view
    return None


def check_versions(records: list[Record]) -> list[str]:
    """Versions a phone sees never go down, and each comes with one game state.

    `records` are in the order they were sent, which for one phone is also
    the order of the responses, because a phone sends one request at a time.
    """
    violations = []
    newest: dict[tuple[int, str], int] = {}
    state_of: dict[tuple[str, int], tuple] = {}
    for record in records:
        view = game_view_of(record)
        if view is not None:
            game_id, version = view["id"], view["version"]
        elif record.status == 304 and record.etag and "/chat" not in record.path:
            game_id, version = record.game_id, int(record.etag.strip('W/"'))
        else:
            continue
        key = (record.phone, game_id)
        if version < newest.get(key, 0):
            violations.append(
                f"phone {record.phone} saw game {game_id} go back from version "
                f"{newest[key]} to {version}"
            )
        newest[key] = max(version, newest.get(key, 0))
        if view is None:
            continue
        state = tuple(
            json.dumps(view.get(name), sort_keys=True) for name in VERSIONED_FIELDS
        )
        known = state_of.setdefault((game_id, version), state)
        if known != state:
            violations.append(
                f"game {game_id} version {version} came with two different states"
            )
    return violations


# -- checks against storage --------------------------------------------------------


def move_acknowledgements(records: list[Record]):
    """Return {(game, turn, player): [(acknowledged, move), ...]} in send order.

    `acknowledged` is True for a 200 and None for a send whose outcome the
    phone never learned (Record.outcome_unknown). Rejected sends are left out.
    """
    players = {}
    for record in records:
        if record.kind == "register" and record.status == 201:
            players[record.phone] = record.response["id"]
    sends = defaultdict(list)
    for record in records:
        if record.kind != "move" or record.method != "PUT":
            continue
        parts = record.path.split("/")
        game_id, turn = parts[4], int(parts[6])
        player = players.get(record.phone)
        move = record.body["move"]
        if record.status == 200:
            sends[(game_id, turn, player)].append((True, move))
        elif record.outcome_unknown:
            sends[(game_id, turn, player)].append((None, move))
    return sends


def check_storage(result: TortureResult, storage) -> list[str]:
    """Return violations between the records and what storage holds."""
    violations = []
    observed_turns: dict[tuple[str, int], set[str]] = defaultdict(set)
    for record in result.records:
        if record.kind == "read" and record.status == 200 and "/turns" in record.path:
            for turn in record.response["turns"]:
                observed_turns[(record.game_id, turn["number"])].add(
                    json.dumps(turn, sort_keys=True)
                )

    stored_turns: dict[tuple[str, int], dict] = {}
    games = {}
    for game_id in sorted(result.game_ids):
        game = storage.get_game(game_id)
        if game is None:
            violations.append(f"game {game_id} was created but is not stored")
            continue
        games[game_id] = game
        violations += check_game_turns(game, storage, stored_turns)
        violations += check_chat(game, storage, result.records)

    for (game_id, number), seen in observed_turns.items():
        stored = stored_turns.get((game_id, number))
        if stored is None:
            violations.append(
                f"turn {number} of game {game_id} was read but is not stored"
            )
            continue
        for text in seen:
            if json.loads(text) != stored:
                violations.append(
                    f"turn {number} of game {game_id} was read with other content "
                    "than stored, so it resolved more than once"
                )

    for (game_id, turn, player), sends in move_acknowledgements(result.records).items():
        stored = stored_turns.get((game_id, turn))
        if stored is None:
            continue
        acked = [i for i, (ack, _) in enumerate(sends) if ack]
        if not acked:
            continue
        allowed = [move for _, move in sends[acked[-1] :]]
        if player not in stored["moves"]:
            seat = games[game_id].seat_of(player)
            if seat is None or seat["status"] == "active":
                violations.append(
                    f"acknowledged move of {player} is missing from turn {turn} of "
                    f"game {game_id}"
                )
            continue
        if stored["moves"][player] not in allowed:
            violations.append(
                f"turn {turn} of game {game_id} holds {stored['moves'][player]!r} for "
                f"{player}, but the last acknowledged move was {allowed[0]!r}"
            )
    return violations


def check_game_turns(game, storage, stored_turns: dict) -> list[str]:
    violations = []
    last = game.resolved_turns
    turns = []
    first = 1
    while first <= last:
        page = storage.list_turns(game.id, first, last, 100)
        if game.last_turn is not None and game.last_turn.number == last:
            if not page or page[-1].number < last:
                if len(page) < 100:
                    page.append(game.last_turn)
        if not page:
            break
        turns += page
        first = page[-1].number + 1
    numbers = [turn.number for turn in turns]
    if numbers != list(range(1, last + 1)):
        violations.append(
            f"game {game.id} has resolved turns {numbers}, expected 1 to {last}"
        )
    if game.status == "active" and game.turn != last + 1:
        violations.append(
            f"game {game.id} is active at turn {game.turn} after {last} resolved turns"
        )
    for turn in turns:
        stored_turns[(game.id, turn.number)] = turn_json(turn)
    return violations


def turn_json(turn) -> dict:
    """Return the turn as the API shows it, for comparison with what phones read."""
    from gameserver.clock import rfc3339

    return {
        "number": turn.number,
        "moves": turn.moves,
        "events": turn.events,
        "timed_out": turn.timed_out,
        "cause": turn.cause,
        "resolved_at": rfc3339(turn.resolved_at),
    }


def check_chat(game, storage, records: list[Record]) -> list[str]:
    violations = []
    last = game.chat_seq
    lines = []
    first = 1
    while first <= last:
        page = storage.list_chat(game.id, first, last, 100, newest_first=False)
        if game.last_chat is not None and game.last_chat.seq == last:
            if len(page) < 100 and (not page or page[-1].seq < last):
                page.append(game.last_chat)
        if not page:
            break
        lines += page
        first = page[-1].seq + 1
    seqs = [line.seq for line in lines]
    if seqs != list(range(1, last + 1)):
        violations.append(
            f"chat of game {game.id} has seqs {seqs[:20]}..., expected 1 to {last}"
        )
    by_seq = {line.seq: line for line in lines}

    acked_seq_by_client_id: dict[tuple, set[int]] = defaultdict(set)
    acked_texts: Counter = Counter()
    unknown_texts: Counter = Counter()
    for record in records:
        if (
            record.kind != "chat"
            or record.game_id != game.id
            or record.method != "POST"
        ):
            continue
        client_id = record.body.get("client_id")
        text = record.body["text"]
        if record.status in (200, 201):
            line = record.response
            stored = by_seq.get(line["seq"])
            if (
                stored is None
                or stored.text != text
                or stored.player_id != line["player"]
            ):
                violations.append(
                    f"acknowledged chat line {line['seq']} of game {game.id} is not "
                    "stored with its text"
                )
            if client_id is not None:
                acked_seq_by_client_id[(line["player"], client_id)].add(line["seq"])
            else:
                acked_texts[text] += 1
        elif record.outcome_unknown and client_id is None:
            unknown_texts[text] += 1

    for (player, client_id), seqs_acked in acked_seq_by_client_id.items():
        stored_seqs = [
            line.seq
            for line in lines
            if line.player_id == player and line.client_id == client_id
        ]
        if len(seqs_acked) != 1 or stored_seqs != sorted(seqs_acked):
            violations.append(
                f"client_id {client_id} of {player} in game {game.id}: acknowledged "
                f"seqs {sorted(seqs_acked)}, stored seqs {stored_seqs}"
            )
    stored_texts = Counter(line.text for line in lines if line.client_id is None)
    for text, count in acked_texts.items():
        if not count <= stored_texts[text] <= count + unknown_texts[text]:
            violations.append(
                f"chat line {text!r} of game {game.id} was acknowledged {count} times "
                f"and is stored {stored_texts[text]} times"
            )
    return violations


def check_all(result: TortureResult, storage) -> list[str]:
    """Run every check; store and return the violations."""
    result.violations = check_records(result) + check_storage(result, storage)
    return result.violations
