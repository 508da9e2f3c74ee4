"""HTTP views for a game's chat."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import APIView

from games.presenters import etag_for, etag_matches
from games.views import set_poll_interval
from gameserver import openapi
from gameserver.clock import rfc3339
from gameserver.params import body_object, int_param, wait_param
from gameserver.throttling import ChatRateThrottle

from . import services

MAX_SEQ = 2**31 - 1


def line_view(line) -> dict:
    view = {
        "seq": line.seq,
        "player": line.player_id,
        "text": line.text,
        "sent_at": rfc3339(line.sent_at),
    }
    if line.client_id is not None:
        view["client_id"] = line.client_id
    return view


class ChatView(APIView):
    throttle_classes = [ChatRateThrottle]

    @openapi.api_operation(
        "chat_list",
        "Read chat lines in ascending seq: the latest, after a seq, or before one",
        {200: openapi.ChatPageSerializer, 304: openapi.not_modified()},
        (400, 401, 403, 404, 503),
        parameters=(
            openapi.query_int("after", 0, MAX_SEQ, "Lines with a seq above this."),
            openapi.query_int("before", 1, MAX_SEQ, "Lines with a seq below this."),
            openapi.query_int(
                "limit", 1, 100, "At most this many lines; 50 by default."
            ),
            openapi.WAIT_PARAMETER,
            openapi.IF_NONE_MATCH,
            openapi.ETAG_HEADER,
            openapi.POLL_INTERVAL_HEADER,
        ),
    )
    def get(self, request, game_id):
        after = int_param(request, "after", None, 0, MAX_SEQ)
        before = int_param(request, "before", None, 1, MAX_SEQ)
        limit = int_param(request, "limit", 50, 1, 100)
        wait = wait_param(request)

        page = services.chat_page(
            player_id=request.user.id,
            game_id=str(game_id),
            after=after,
            before=before,
            limit=limit,
            unchanged=lambda chat_seq: etag_matches(request, chat_seq),
            wait=wait,
        )

        if page.lines is None:
            response = Response(status=304)
        else:
            response = Response(
                {
                    "messages": [line_view(line) for line in page.lines],
                    "next_after": page.next_after,
                }
            )
        response["ETag"] = etag_for(page.chat_seq)
        set_poll_interval(response, page.game, request.user.id)
        return response

    @openapi.api_operation(
        "chat_post",
        "Append a chat line; a repeated client_id returns the original line",
        {201: openapi.ChatLineSerializer, 200: openapi.ChatLineSerializer},
        (400, 401, 403, 404, 413, 429, 503),
        request=openapi.ChatPostSerializer,
    )
    def post(self, request, game_id):
        data = body_object(request)

        line, created = services.chat_post(
            player_id=request.user.id,
            game_id=str(game_id),
            text=data.get("text"),
            client_id=data.get("client_id"),
        )

        return Response(line_view(line), status=201 if created else 200)
