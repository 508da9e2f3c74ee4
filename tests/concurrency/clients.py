"""Client processes for the concurrency tests.

The tests start these functions with multiprocessing's spawn context, so
this module imports nothing but the standard library and requests. Each
function writes every response it got to a JSON file, which the test
reads after the process ends. A client never raises out of its process:
it records the error, so the test can show it.
"""

from __future__ import annotations

import json
import threading
import time
import traceback
from pathlib import Path

import requests

# Seconds a client waits at a barrier for its peers before it gives up.
BARRIER_TIMEOUT = 60
# Seconds an HTTP request may take.
REQUEST_TIMEOUT = 30
# Times a chat post is sent again after a 503, and the maximum pause between.
MAX_UNAVAILABLE_RETRIES = 20
MAX_RETRY_PAUSE = 0.25


def move_for(game_id: str, seat: int, turn: int) -> dict:
    """Return the move of `seat` for `turn`, distinct per game, seat and turn."""
    return {"game": game_id, "seat": seat, "turn": turn, "note": f"s{seat}·t{turn} ✓"}


def response_record(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = response.text[:500]
    return {"status": response.status_code, "body": body}


def write_records(out_path: str, records: list[dict], errors: list[str]) -> None:
    Path(out_path).write_text(json.dumps({"records": records, "errors": errors}))


# -- moves ---------------------------------------------------------------


def play_seat(
    base_url: str,
    seat: int,
    games: list[dict],
    barriers: list,
    turns: int,
    out_path: str,
) -> None:
    """Send this seat's move for turns 1..`turns` of every game, one thread per game.

    `games` contains {"id", "token"} per game, and `barriers[i]` is shared with
    the process of the other seat, so both moves of a turn leave together.
    """
    records: list[dict] = []
    errors: list[str] = []
    guard = threading.Lock()

    def play(game: dict, barrier) -> None:
        session = requests.Session()
        url_prefix = f"{base_url}/api/v1/games/{game['id']}/turns"
        headers = {"Authorization": f"Bearer {game['token']}"}
        try:
            for turn in range(1, turns + 1):
                barrier.wait(BARRIER_TIMEOUT)
                response = session.put(
                    f"{url_prefix}/{turn}/move",
                    json={"move": move_for(game["id"], seat, turn)},
                    headers=headers,
                    timeout=REQUEST_TIMEOUT,
                )
                with guard:
                    records.append(
                        {"game": game["id"], "turn": turn, **response_record(response)}
                    )
        except Exception:
            # Break the barrier so that the other seat's thread stops too.
            barrier.abort()
            with guard:
                errors.append(
                    f"seat {seat}, game {game['id']}:\n{traceback.format_exc()}"
                )
        finally:
            session.close()

    threads = [
        threading.Thread(target=play, args=(game, barrier))
        for game, barrier in zip(games, barriers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    write_records(out_path, records, errors)


# -- chat ----------------------------------------------------------------

# How each post of a chat client is sent, in turn: once with a client_id,
# once without one, twice in a row with the same client_id, and twice at
# the same moment over two connections with the same client_id.
CHAT_POST_KINDS = ("once", "no_client_id", "sequential_retry", "concurrent_retry")


def chat_text(client: int, post: int) -> str:
    return f"client {client} post {post}: héllo ✓ 🎲"


def chat_client_id(post: int) -> str:
    # The same client_id for every client (player): deduplication is per player.
    return f"post-{post}"


def send_chat(
    session: requests.Session, url: str, token: str, body: dict
) -> list[dict]:
    """POST one chat line, sending it again after each 503; return every response."""
    responses = []
    for _ in range(MAX_UNAVAILABLE_RETRIES + 1):
        response = session.post(
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
        )
        responses.append(response_record(response))
        if response.status_code != 503:
            break
        retry_after = float(response.headers.get("Retry-After", "1"))
        time.sleep(min(retry_after, MAX_RETRY_PAUSE))
    return responses


def post_chat(
    base_url: str,
    game_id: str,
    token: str,
    client: int,
    posts: int,
    start_barrier,
    out_path: str,
) -> None:
    """Post `posts` lines to the game's chat, sending each as its kind requires.

    Every send is recorded as {"post", "kind", "send", "responses"}, where
    `responses` lists the 503 responses that were retried, then the final response.
    """
    records: list[dict] = []
    errors: list[str] = []
    url = f"{base_url}/api/v1/games/{game_id}/chat"
    sessions = [requests.Session(), requests.Session()]
    try:
        start_barrier.wait(BARRIER_TIMEOUT)
        for post in range(posts):
            kind = CHAT_POST_KINDS[post % len(CHAT_POST_KINDS)]
            body = {"text": chat_text(client, post)}
            if kind != "no_client_id":
                body["client_id"] = chat_client_id(post)

            if kind == "concurrent_retry":
                sends = send_twice_at_once(sessions, url, token, body)
            elif kind == "sequential_retry":
                sends = [send_chat(sessions[0], url, token, body) for _ in range(2)]
            else:
                sends = [send_chat(sessions[0], url, token, body)]
            for send, responses in enumerate(sends):
                records.append(
                    {"post": post, "kind": kind, "send": send, "responses": responses}
                )
    except Exception:
        errors.append(f"chat client {client}:\n{traceback.format_exc()}")
    finally:
        for session in sessions:
            session.close()
    write_records(out_path, records, errors)


def send_twice_at_once(
    sessions: list[requests.Session], url: str, token: str, body: dict
) -> list[list[dict]]:
    """Send the same post over two connections from two threads at the same moment."""
    barrier = threading.Barrier(2)
    results: list[list[dict] | None] = [None, None]
    failures: list[BaseException] = []

    def send(index: int) -> None:
        try:
            barrier.wait(BARRIER_TIMEOUT)
            results[index] = send_chat(sessions[index], url, token, body)
        except BaseException as exc:
            barrier.abort()
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return results
