"""Chat services: append a line under the game lock, page lines without it."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from games.deadlines import settle_overdue
from games.gamestore import (
    commit_game,
    game_lock,
    load_game,
    require_seat,
    set_last_chat,
)
from games.outbox import record_event
from games.waiting import wait_for_change
from gameserver import clock
from gameserver.errors import InvalidRequest, TextTooLong
from gameserver.params import json_type
from gameserver.throttling import settle_rate_limits
from storage import ChatLine, GameRecord, get_storage

logger = logging.getLogger(__name__)

TEXT_MAX_CHARS = 2000
CLIENT_ID_MAX_CHARS = 64


def check_text(text) -> str:
    if text is None:
        raise InvalidRequest("Field text is required.", {"field": "text"})
    if not isinstance(text, str):
        raise InvalidRequest(
            f"Field text must be a string, got {json_type(text)}.",
            {"field": "text"},
        )
    if not text:
        raise InvalidRequest("Field text must not be empty.", {"field": "text"})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRequest(
            "Field text contains an unpaired surrogate, which is not valid Unicode.",
            {"field": "text"},
        ) from None
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InvalidRequest(
            "Field text must not contain control characters other than newline "
            "and tab.",
            {"field": "text"},
        )
    if len(text) > TEXT_MAX_CHARS:
        raise TextTooLong(
            f"Field text is {len(text)} characters; the limit is {TEXT_MAX_CHARS}.",
            {"field": "text", "limit": TEXT_MAX_CHARS, "length": len(text)},
        )
    return text


def check_client_id(client_id) -> str | None:
    if client_id is None:
        return None
    if not isinstance(client_id, str):
        raise InvalidRequest(
            f"Field client_id must be a string, got {json_type(client_id)}.",
            {"field": "client_id"},
        )
    if not 1 <= len(client_id) <= CLIENT_ID_MAX_CHARS:
        raise InvalidRequest(
            f"Field client_id must be 1 to {CLIENT_ID_MAX_CHARS} characters, "
            f"got {len(client_id)}.",
            {"field": "client_id", "limit": CLIENT_ID_MAX_CHARS},
        )
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in client_id):
        raise InvalidRequest(
            "Field client_id must not contain control characters or surrogates.",
            {"field": "client_id"},
        )
    return client_id


def chat_post(
    *, player_id: str, game_id: str, text, client_id
) -> tuple[ChatLine, bool]:
    """Append a line and return it with True.

    A retry returns the line stored earlier, with False.
    """
    text = check_text(text)
    client_id = check_client_id(client_id)

    # seq is assigned under the game lock, so it is unique and gapless.
    with game_lock(game_id) as lock:
        game = load_game(game_id)
        require_seat(game, player_id)
        settle_overdue(lock, game)
        if client_id is not None:
            earlier = _earlier_post(game, player_id, client_id)
            if earlier is not None:
                return earlier, False

        settle_rate_limits()
        line = ChatLine(
            game_id=game.id,
            seq=game.chat_seq + 1,
            player_id=player_id,
            text=text,
            sent_at=clock.now(),
            client_id=client_id,
        )
        set_last_chat(game, line)
        game.chat_seq = line.seq
        record_event(
            game,
            "chat_posted",
            notify=[pid for pid in game.player_ids() if pid != player_id],
            data={"seq": line.seq, "player": player_id, "text": text},
        )
        commit_game(lock, game)

    logger.debug("Chat line %s posted in game %s", line.seq, game.id)
    return line, True


def _earlier_post(game, player_id: str, client_id: str) -> ChatLine | None:
    newest = game.last_chat
    if (
        newest is not None
        and newest.player_id == player_id
        and newest.client_id == client_id
    ):
        return newest
    storage = get_storage()
    seq = storage.get_chat_client_id(game.id, player_id, client_id)
    if seq is None or seq > game.chat_seq:
        return None
    line = storage.get_chat_line(game.id, seq)
    # The index entry may come from an abandoned post whose seq was later
    # reused by another line; only a matching committed line is a retry.
    if line is None or line.player_id != player_id or line.client_id != client_id:
        return None
    return line


def _with_newest_line(game, lines, first, last, limit, newest_first):
    """Add the newest committed line when its row is not written yet."""
    newest = game.last_chat
    if newest is None or newest.seq != last or newest.seq < first:
        return lines
    if newest_first:
        if not lines or lines[0].seq < last:
            return [newest, *lines][:limit]
    elif len(lines) < limit and (not lines or lines[-1].seq < last):
        return [*lines, newest]
    return lines


@dataclass
class ChatPage:
    """A page of committed chat lines, ascending, and the game it was read from.

    `lines` is None when the client's ETag was current, so no lines were
    read. `chat_seq` is the seq of the game's latest line.
    """

    lines: list[ChatLine] | None
    next_after: int
    chat_seq: int
    game: GameRecord


def chat_list(
    *,
    player_id: str,
    game_id: str,
    after: int | None,
    before: int | None,
    limit: int,
    unchanged: Callable[[int], bool] | None = None,
) -> tuple[list[ChatLine] | None, int, int]:
    """Return a page of committed lines, ascending, with next_after and chat_seq.

    When `unchanged(chat_seq)` returns True (the client's ETag is current)
    no lines are read and the page is None.
    """
    page = chat_page(
        player_id=player_id,
        game_id=game_id,
        after=after,
        before=before,
        limit=limit,
        unchanged=unchanged,
    )
    return page.lines, page.next_after, page.chat_seq


def chat_page(
    *,
    player_id: str,
    game_id: str,
    after: int | None,
    before: int | None,
    limit: int,
    unchanged: Callable[[int], bool] | None = None,
    wait: float = 0.0,
) -> ChatPage:
    """Return a page of committed lines, as `chat_list` describes.

    With `wait` seconds the request is held while the client has seen
    everything: no line after `after`, or, without `after`, an ETag that
    `unchanged` finds current. The page is returned as soon as that changes
    or `wait` passes, so it may be empty, or None, as usual.
    """
    if after is not None and before is not None:
        raise InvalidRequest(
            "Use either after or before, not both.", {"field": "before"}
        )
    game = load_game(game_id)
    require_seat(game, player_id)
    if wait > 0:
        game = wait_for_change(
            game,
            partial(_nothing_new, after=after, unchanged=unchanged),
            wait,
            load_game,
        )
    committed = game.chat_seq
    if unchanged is not None and unchanged(committed):
        return ChatPage(None, 0, committed, game)
    storage = get_storage()

    if after is not None:
        first, last, newest_first = after + 1, committed, False
    elif before is not None:
        first, last, newest_first = 1, min(before - 1, committed), True
    else:
        first, last, newest_first = 1, committed, True
    lines = []
    if first <= last:
        lines = storage.list_chat(game.id, first, last, limit, newest_first)
        lines = _with_newest_line(game, lines, first, last, limit, newest_first)
        if newest_first:
            lines.reverse()

    if lines:
        next_after = lines[-1].seq
    elif after is not None:
        next_after = after
    else:
        next_after = max(last, 0)
    return ChatPage(lines, next_after, committed, game)


def _nothing_new(
    game: GameRecord, *, after: int | None, unchanged: Callable[[int], bool] | None
) -> bool:
    if after is not None:
        return game.chat_seq <= after
    return unchanged is not None and unchanged(game.chat_seq)
