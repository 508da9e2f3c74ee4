"""One simulated phone: a player that hosts or joins games, plays them and chats."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from .client import ChatPost, LockstepClient
from .errors import ApiError
from .players import Decision, LightcyclesPlayer, RpsPlayer

# Maximum length in characters of an event printed as JSON, which happens
# when the demo cannot describe the event in words.
EVENTS_TEXT_CHARS = 160


class DemoFailure(Exception):
    """An unexpected response or game state that ends the demo with exit status 1."""


class DemoAborted(Exception):
    """Raised in one phone's thread because the other phone failed."""


class Transcript:
    """Thread-safe printer of timestamped transcript lines."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic):
        self._stream = stream
        self._clock = clock
        self._start = clock()
        self._lock = threading.Lock()

    def say(self, speaker: str, text: str) -> None:
        elapsed = self._clock() - self._start
        with self._lock:
            print(
                f"{elapsed:5.1f}s [{speaker:<5}] {text}", file=self._stream, flush=True
            )


@dataclass
class Table:
    """State shared by the phones of one demo run.

    ``directory`` maps a player name to its id, the way friends would share
    ids through an invite link. ``stop`` is set when any phone fails, and
    every phone's sleep raises DemoAborted once it is set.
    """

    transcript: Transcript
    stop: threading.Event = field(default_factory=threading.Event)
    meeting: threading.Barrier = field(default_factory=lambda: threading.Barrier(2))
    directory: dict[str, str] = field(default_factory=dict)
    # Options of the demo's matchmade game, the same for every phone of one run.
    match_options: dict[str, Any] = field(default_factory=dict)


class Phone:
    """A player with its own client, HTTP session and seeded random generator."""

    def __init__(
        self,
        name: str,
        table: Table,
        server: str,
        seed: int,
        poll_max_wait: float,
    ) -> None:
        self.name = name
        self.table = table
        self.poll_max_wait = poll_max_wait
        # random.seed turns a str into an int without hash randomization, so
        # this seed gives the same sequence in every Python process.
        self.rng = random.Random(f"{seed}/{name}")
        self.client = LockstepClient(server, sleep=self._sleep)
        # Game ids by ruleset, for the checks after play.
        self.games: dict[str, str] = {}
        self.turns: list[dict[str, Any]] = []
        self.chat_seen = 0
        self.error: BaseException | None = None

    def say(self, text: str) -> None:
        self.table.transcript.say(self.name, text)

    def _sleep(self, seconds: float) -> None:
        if self.table.stop.wait(seconds):
            raise DemoAborted(f"{self.name} stopped because another phone failed")

    # Meeting and matchmaking

    def register(self) -> None:
        player = self.client.register(self.name)
        self.table.directory[self.name] = player["id"]
        self.say(f"registered as player {player['id']}")

    def meet(self, timeout: float = 30.0) -> None:
        """Wait until every phone has registered, so that each has the others' ids."""
        try:
            self.table.meeting.wait(timeout)
        except threading.BrokenBarrierError as error:
            raise DemoAborted(
                f"{self.name} stopped before meeting the others"
            ) from error

    def host(self, ruleset: str, options: dict[str, Any]) -> str:
        view = self.client.create_game(ruleset, seats=2, options=options)
        self.say(f"created {ruleset} game {view['id']} with options {options}")
        view = self.client.poll_until(
            view["id"],
            lambda v: v["status"] != "waiting",
            max_wait=self.poll_max_wait,
        )
        self.say(f"{ruleset} game started, turn {view['turn']}")
        return view["id"]

    def matchmake(self, ruleset: str, options: dict[str, Any]) -> str:
        """Take a seat through matchmaking and return the game's id once it starts."""
        view = self.client.matchmake(ruleset, seats=2, options=options)
        rivals = [
            p["name"] for p in view["players"] if p["id"] != self.client.player_id
        ]
        found = f"joined {', '.join(rivals)}'s" if rivals else "opened a new"
        self.say(f"matchmaking {found} {ruleset} game {view['id']}")
        return self._wait_started(view)

    def rematch(self, game_id: str) -> str:
        """Ask for the rematch of a finished game and return its id once it starts."""
        view = self.client.rematch(game_id)
        if view["players"][0]["id"] == self.client.player_id:
            self.say(f"asked for a rematch: game {view['id']}, rival invited")
        else:
            self.say(f"accepted the rematch {view['id']} and took the reserved seat")
        return self._wait_started(view)

    def await_invitation(self, host_name: str, max_wait: float = 30.0) -> str:
        """Wait for an invitation from ``host_name`` in the game list; return its id.

        The list is polled, as an app does on its home screen, because a
        finished game's view suggests a long poll interval.
        """
        host_id = self.table.directory[host_name]
        deadline = self.client.clock() + max_wait
        interval = 0.2
        while True:
            for summary in self.client.list_games():
                if summary.get("invited") and host_id in _player_ids(summary):
                    self.say(
                        f"sees {host_name}'s invitation to game {summary['id']} in "
                        "the game list"
                    )
                    return summary["id"]
            if self.client.clock() > deadline:
                raise DemoFailure(
                    f"{self.name} found no invitation from {host_name} within "
                    f"{max_wait:g} s"
                )
            self._sleep(interval)
            interval = min(2.0, interval * 2)

    def _wait_started(self, view: dict[str, Any]) -> str:
        if view["status"] == "waiting":
            view = self.client.poll_until(
                view["id"],
                lambda v: v["status"] != "waiting",
                max_wait=self.poll_max_wait,
            )
        self.say(f"{view['ruleset']} game {view['id']} started, turn {view['turn']}")
        return view["id"]

    def join_hosted(self, ruleset: str, host_name: str, max_wait: float = 15.0) -> str:
        """Find the open game of ``ruleset`` that ``host_name`` created, and join it."""
        host_id = self.table.directory[host_name]
        deadline = self.client.clock() + max_wait
        interval = 0.2
        while True:
            open_games = self.client.list_games(view="open")
            game_id = _find_hosted_game(open_games, ruleset, host_id)
            if game_id is not None:
                view = self.client.join(game_id)
                self.say(
                    f"found {host_name}'s {ruleset} game {game_id} in the open "
                    f"list and joined, status {view['status']}"
                )
                return game_id
            if self.client.clock() > deadline:
                raise DemoFailure(
                    f"{self.name} found no open {ruleset} game by {host_name} "
                    f"within {max_wait:g} s"
                )
            self._sleep(interval)
            interval = min(2.0, interval * 2)

    # Chat

    def chat(self, game_id: str, text: str, client_id: str | None = None) -> ChatPost:
        post = self.client.post_chat(game_id, text, client_id=client_id)
        if post.status != 201:
            raise DemoFailure(
                f"{self.name}'s first chat post with client_id {post.client_id} "
                f"returned {post.status}, expected 201"
            )
        if post.message.get("text") != text:
            raise DemoFailure(
                f"chat line {post.message.get('seq')} came back as "
                f"{post.message.get('text')!r}, sent {text!r}"
            )
        self.say(f"says (chat #{post.message['seq']}): {text}")
        return post

    def repeat_chat(self, game_id: str, text: str) -> None:
        """Post a line twice with one client_id, as after a lost response."""
        client_id = f"demo-{self.name}-{self.rng.getrandbits(64):016x}"
        first = self.chat(game_id, text, client_id=client_id)
        second = self.client.post_chat(game_id, text, client_id=client_id)
        seq = first.message["seq"]
        if second.status != 200 or second.message.get("seq") != seq:
            raise DemoFailure(
                f"repeated chat post with client_id {client_id} returned status "
                f"{second.status} and seq {second.message.get('seq')}, expected "
                f"200 and seq {seq}"
            )

        later = self.client.chat_after(game_id, after=seq - 1, limit=100).body
        copies = [
            line
            for line in later["messages"]
            if line["player"] == self.client.player_id and line["text"] == text
        ]
        if len(copies) != 1:
            raise DemoFailure(
                f"chat of game {game_id} has {len(copies)} copies of the line "
                f"posted twice with client_id {client_id}, expected 1"
            )
        self.say(
            f"resent chat #{seq} with the same client_id: status 200, same seq, "
            "and the chat has one copy"
        )

    def read_new_chat(self, game_id: str, view: dict[str, Any]) -> None:
        """Fetch and print the rivals' chat lines that the game view announces."""
        if view.get("chat_seq", 0) <= self.chat_seen:
            return
        page = self.client.chat_after(game_id, after=self.chat_seen, limit=100).body
        for line in page["messages"]:
            self.chat_seen = max(self.chat_seen, line["seq"])
            if line["player"] != self.client.player_id:
                self.say(f"reads chat #{line['seq']}: {line['text']}")

    # Playing

    def play(
        self,
        game_id: str,
        narrate: bool,
        max_turns: int,
        on_resolved: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Play the game to its end and return the finished game view.

        ``narrate`` prints every resolved turn. ``on_resolved(turn)`` runs
        after each turn that resolves during play, for scripted chat.
        """
        self.turns = []
        self.chat_seen = 0
        view = self.client.get_game(game_id).body
        bot = self._make_bot(view["ruleset"])

        while view["status"] != "finished":
            if view["status"] != "active":
                raise DemoFailure(f"game {game_id} is {view['status']!r} during play")
            turn = view["turn"]
            if turn > max_turns:
                raise DemoFailure(
                    f"game {game_id} did not finish within {max_turns} turns"
                )
            self.read_new_chat(game_id, view)

            if self._must_move(view):
                view = self._submit(game_id, turn, self._decide(bot, view))
            if view["status"] == "active" and view["turn"] == turn:
                view = self.client.poll_until(
                    game_id,
                    lambda v, turn=turn: v["turn"] != turn or v["status"] != "active",
                    max_wait=self.poll_max_wait,
                )
            self._sync_turns(game_id, view, narrate)
            if on_resolved is not None:
                on_resolved(turn)

        self.read_new_chat(game_id, view)
        return view

    def _make_bot(self, ruleset: str) -> RpsPlayer | LightcyclesPlayer:
        if ruleset == "rps":
            return RpsPlayer(self.client.player_id, self.rng)
        if ruleset == "lightcycles":
            return LightcyclesPlayer(self.client.player_id, self.rng)
        raise DemoFailure(f"the demo has no bot for ruleset {ruleset!r}")

    def _must_move(self, view: dict[str, Any]) -> bool:
        me = next(p for p in view["players"] if p["id"] == self.client.player_id)
        return (
            me["status"] == "active" and self.client.player_id not in view["submitted"]
        )

    def _decide(
        self, bot: RpsPlayer | LightcyclesPlayer, view: dict[str, Any]
    ) -> Decision:
        if isinstance(bot, RpsPlayer):
            return bot.choose_move(self.turns)
        try:
            return bot.choose_move(view["state"])
        except (KeyError, TypeError, ValueError) as error:
            raise DemoFailure(
                f"cannot read the lightcycles state of turn {view['turn']} "
                f"({error!r}): {json.dumps(view.get('state'))[:300]}"
            ) from error

    def _submit(self, game_id: str, turn: int, decision: Decision) -> dict[str, Any]:
        self.say(
            f"turn {turn}: plays {_describe_move(decision.move)} ({decision.reason})"
        )
        result = self.client.submit_move(game_id, turn, decision.move)
        if result.get("turn") != turn:
            raise DemoFailure(
                f"move for turn {turn} returned turn {result.get('turn')}"
            )
        return result["game"]

    def _sync_turns(self, game_id: str, view: dict[str, Any], narrate: bool) -> None:
        """Fetch the turns resolved since the last call, and print them if narrating."""
        names = {p["id"]: p["name"] for p in view["players"]}
        while True:
            after = self.turns[-1]["number"] if self.turns else 0
            page = self.client.list_turns(game_id, after=after, limit=100)
            new_turns = page["turns"]
            self.turns.extend(new_turns)
            if narrate:
                for record in new_turns:
                    self.say(_describe_turn(record, names))
            if len(new_turns) < 100:
                return

    def expect_invalid_move(self, game_id: str, turn: int, move: Any) -> None:
        """Submit a move the ruleset must reject, and check the 400 invalid_move."""
        try:
            self.client.submit_move(game_id, turn, move)
        except ApiError as error:
            if error.status == 400 and error.code == "invalid_move":
                self.say(
                    f"sent {json.dumps(move)} and got 400 invalid_move as expected"
                )
                return
            raise
        raise DemoFailure(f"server accepted the invalid move {json.dumps(move)}")


def _find_hosted_game(
    summaries: list[dict[str, Any]], ruleset: str, host_id: str
) -> str | None:
    """Return the id of the first game of ``ruleset`` with ``host_id`` seated."""
    for summary in summaries:
        if summary.get("ruleset") == ruleset and host_id in _player_ids(summary):
            return summary["id"]
    return None


def _player_ids(summary: dict[str, Any]) -> set[str]:
    """Return the player ids of a game summary, whose players are dicts or ids."""
    ids = set()
    for player in summary.get("players") or []:
        ids.add(player.get("id") if isinstance(player, dict) else player)
    return ids


def _describe_move(move: Any) -> str:
    if isinstance(move, dict):
        if "throw" in move:
            return str(move["throw"])
        if "dir" in move:
            return str(move["dir"])
    return json.dumps(move, ensure_ascii=False)


def _describe_turn(record: dict[str, Any], names: dict[str, str]) -> str:
    moves = ", ".join(
        f"{names.get(player_id, player_id)} {_describe_move(move)}"
        for player_id, move in sorted(
            (record.get("moves") or {}).items(),
            key=lambda item: names.get(item[0], item[0]),
        )
    )
    text = f"turn {record['number']} resolved: {moves}"
    events = [_describe_event(event, names) for event in record.get("events") or []]
    if events:
        text += "; " + "; ".join(events)
    return text


def _describe_event(event: Any, names: dict[str, str]) -> str:
    """Describe a turn event of the rps or lightcycles ruleset in words.

    The event formats are the rulesets' own and not part of the HTTP
    contract, so an event that does not match them is shown as JSON.
    """

    def name(player_id: str | None) -> str:
        return "nobody" if player_id is None else names.get(player_id, player_id)

    try:
        kind = event["type"]
        if kind == "round":
            score = ", ".join(f"{name(p)} {n}" for p, n in event["score"].items())
            return f"{name(event['winner'])} wins round {event['round']} ({score})"
        if kind == "tie":
            return f"round {event['round']} is a tie and is replayed"
        if kind == "crash":
            return (
                f"{name(event['player'])} crashes into a {event['cause']} at "
                f"({event['x']}, {event['y']})"
            )
        if kind == "game_over":
            return f"game over, winner: {name(event['winner'])}"
    except (KeyError, TypeError, AttributeError):
        pass

    text = json.dumps(event, ensure_ascii=False)
    for player_id, player_name in names.items():
        text = text.replace(player_id, player_name)
    if len(text) > EVENTS_TEXT_CHARS:
        text = text[: EVENTS_TEXT_CHARS - 3] + "..."
    return text
