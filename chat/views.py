"""HTTP views for a game's chat."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import APIView

from games.presenters import etag_for, etag_matches
from gameserver.clock import rfc3339
from gameserver.params import body_object, int_param

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
    def get(self, request, game_id):
        after = int_param(request, "after", None, 0, MAX_SEQ)
        before = int_param(request, "before", None, 1, MAX_SEQ)
        limit = int_param(request, "limit", 50, 1, 100)

        lines, next_after, chat_seq = services.chat_list(
            player_id=request.user.id,
            game_id=str(game_id),
            after=after,
            before=before,
            limit=limit,
            unchanged=lambda chat_seq: etag_matches(request, chat_seq),
        )

        if lines is None:
            response = Response(status=304)
        else:
            response = Response(
                {
                    "messages": [line_view(line) for line in lines],
                    "next_after": next_after,
                }
            )
        response["ETag"] = etag_for(chat_seq)
        return response

    def post(self, request, game_id):
        data = body_object(request)

        line, created = services.chat_post(
            player_id=request.user.id,
            game_id=str(game_id),
            text=data.get("text"),
            client_id=data.get("client_id"),
        )

        return Response(line_view(line), status=201 if created else 200)
