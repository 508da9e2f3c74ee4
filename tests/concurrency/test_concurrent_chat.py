"""Many clients post to one game's chat at once, some of them retrying.

CLIENTS spawned processes, each a different player of one lockstep game,
post POSTS lines each over HTTP against gunicorn with several workers. The
posts cycle through four kinds (see `CHAT_POST_KINDS`): sent once with a
client_id, sent once without one, sent twice in a row with the same
client_id, and sent twice at the same moment over two connections with the
same client_id. A 503 is sent again with the same body, as a client would.
The chat is then read back by paging forward with `after` and backward
with `before`.
"""

from __future__ import annotations

import json
import multiprocessing

from tests.concurrency.clients import (
    CHAT_POST_KINDS,
    chat_client_id,
    chat_text,
    post_chat,
)
from tests.helpers import Api

CLIENTS = 8
POSTS = 25
# Page size for reading the chat back; it does not divide the line count,
# so the last page is partial.
CHAT_PAGE = 37
# Seconds allowed for the client processes to finish all posts.
POST_TIMEOUT = 180


def run_clients(server, game_id: str, players: list[dict], tmp_path) -> list[dict]:
    """Post from one spawned process per player; return each process's output."""
    context = multiprocessing.get_context("spawn")
    start_barrier = context.Barrier(CLIENTS)
    processes = []
    for client, player in enumerate(players):
        out_path = tmp_path / f"chat-client-{client}.json"
        process = context.Process(
            target=post_chat,
            args=(
                server.url,
                game_id,
                player["token"],
                client,
                POSTS,
                start_barrier,
                str(out_path),
            ),
            name=f"chat-client-{client}",
        )
        process.start()
        processes.append((process, out_path))

    outputs = []
    for client, (process, out_path) in enumerate(processes):
        process.join(POST_TIMEOUT)
        if process.is_alive():
            process.terminate()
            process.join(10)
        assert process.exitcode == 0, (
            f"chat client {client} exited with {process.exitcode}"
        )
        outputs.append(json.loads(out_path.read_text()))
    return outputs


def read_forward(api: Api, token: str, game_id: str) -> list[dict]:
    """Read the whole chat by paging with `after` from 0 until a page is empty."""
    lines = []
    after = 0
    while True:
        response = api.get(
            f"/api/v1/games/{game_id}/chat",
            token,
            params={"after": after, "limit": CHAT_PAGE},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["messages"]:
            assert page["next_after"] == after
            return lines
        assert page["next_after"] == page["messages"][-1]["seq"]
        lines.extend(page["messages"])
        after = page["next_after"]


def read_backward(api: Api, token: str, game_id: str, chat_seq: int) -> list[dict]:
    """Read the whole chat by paging with `before` from the end down to seq 1."""
    pages = []
    before = chat_seq + 1
    while before > 1:
        response = api.get(
            f"/api/v1/games/{game_id}/chat",
            token,
            params={"before": before, "limit": CHAT_PAGE},
        )
        assert response.status_code == 200, response.text
        page = response.json()["messages"]
        assert page, f"empty page before seq {before}"
        assert page[-1]["seq"] == before - 1
        pages.append(page)
        before = page[0]["seq"]
    return [line for page in reversed(pages) for line in page]


def test_concurrent_posts_keep_chat_gapless(api, server, tmp_path):
    game, players = api.started_game("lockstep", CLIENTS)
    game_id = game["id"]
    outputs = run_clients(server, game_id, players, tmp_path)
    for client, output in enumerate(outputs):
        assert output["errors"] == [], f"chat client {client} failed:\n" + "\n".join(
            output["errors"]
        )

    acknowledged = check_post_responses(outputs, players)

    token = players[0]["token"]
    chat_seq = api.game(token, game_id)["chat_seq"]
    forward = read_forward(api, token, game_id)
    backward = read_backward(api, token, game_id, chat_seq)
    assert backward == forward

    # Gapless from 1 to chat_seq, one line per distinct post.
    assert [line["seq"] for line in forward] == list(range(1, chat_seq + 1))
    assert chat_seq == CLIENTS * POSTS

    by_seq = {line["seq"]: line for line in forward}
    for (client, post), seq in acknowledged.items():
        line = by_seq[seq]
        assert line["text"] == chat_text(client, post), (client, post, line)
        assert line["player"] == players[client]["id"], (client, post, line)

    # Every post appears exactly once, and so does every (player, client_id).
    texts = [line["text"] for line in forward]
    assert len(set(texts)) == len(texts)
    client_ids = [
        (line["player"], line["client_id"]) for line in forward if "client_id" in line
    ]
    assert len(set(client_ids)) == len(client_ids)
    posts_with_client_id = sum(
        1
        for post in range(POSTS)
        if CHAT_POST_KINDS[post % len(CHAT_POST_KINDS)] != "no_client_id"
    )
    assert len(client_ids) == CLIENTS * posts_with_client_id


def check_post_responses(
    outputs: list[dict], players: list[dict]
) -> dict[tuple[int, int], int]:
    """Check each post's final responses; return the seq of each (client, post)."""
    acknowledged = {}
    for client, output in enumerate(outputs):
        sends_by_post: dict[int, list[dict]] = {}
        for record in output["records"]:
            responses = record["responses"]
            statuses = [response["status"] for response in responses]
            # Only the last response may be other than 503, because a 503 wrote nothing.
            assert all(status == 503 for status in statuses[:-1]), (client, record)
            assert statuses[-1] in (200, 201), (client, record)
            sends_by_post.setdefault(record["post"], []).append(record)

        assert sorted(sends_by_post) == list(range(POSTS))
        for post, sends in sends_by_post.items():
            kind = CHAT_POST_KINDS[post % len(CHAT_POST_KINDS)]
            finals = [send["responses"][-1] for send in sends]
            statuses = sorted(final["status"] for final in finals)
            if kind in ("once", "no_client_id"):
                assert statuses == [201], (client, post, finals)
            else:
                assert statuses == [200, 201], (client, post, kind, finals)
            if kind == "sequential_retry":
                first, second = sorted(sends, key=lambda send: send["send"])
                assert first["responses"][-1]["status"] == 201, (client, post, finals)

            bodies = [final["body"] for final in finals]
            seqs = {body["seq"] for body in bodies}
            assert len(seqs) == 1, (
                f"client {client} post {post} got seqs {sorted(seqs)}"
            )
            for body in bodies:
                assert body["text"] == chat_text(client, post)
                assert body["player"] == players[client]["id"]
                if kind == "no_client_id":
                    assert "client_id" not in body
                else:
                    assert body["client_id"] == chat_client_id(post)
            acknowledged[(client, post)] = seqs.pop()

    seqs = list(acknowledged.values())
    assert len(set(seqs)) == len(seqs), "two posts were acknowledged with the same seq"
    return acknowledged
