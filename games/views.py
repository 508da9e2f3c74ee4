"""HTTP views for games and turns: parse, call one service, serialise."""

from __future__ import annotations

from rest_framework.response import Response
from rest_framework.views import APIView

from gameserver.errors import InvalidRequest
from gameserver.params import body_object, int_param

from . import services
from .presenters import etag_for, etag_matches, game_summary, game_view, turn_view

MAX_TURN_NUMBER = 2**31 - 1


def game_response(game, viewer_id: str, status: int = 200) -> Response:
    response = Response(game_view(game, viewer_id), status=status)
    response["ETag"] = etag_for(game.version)
    return response


class GameListView(APIView):
    def get(self, request):
        view = request.query_params.get("view")
        if view not in (None, "", "open"):
            raise InvalidRequest(
                f"Query parameter view must be 'open' or absent, got {view[:40]!r}.",
                {"field": "view"},
            )

        if view == "open":
            games = services.game_list_open(player_id=request.user.id)
        else:
            games = services.game_list(player_id=request.user.id)

        return Response({"games": [game_summary(g, request.user.id) for g in games]})

    def post(self, request):
        data = body_object(request)

        game = services.game_create(
            player_id=request.user.id,
            player_name=request.user.name,
            ruleset=data.get("ruleset"),
            seats=data.get("seats"),
            options=data.get("options"),
        )

        return game_response(game, request.user.id, status=201)


class GameDetailView(APIView):
    def get(self, request, game_id):
        game = services.game_get(game_id=str(game_id))

        if etag_matches(request, game.version):
            response = Response(status=304)
            response["ETag"] = etag_for(game.version)
            return response
        return game_response(game, request.user.id)


class GameJoinView(APIView):
    def post(self, request, game_id):
        game = services.game_join(
            player_id=request.user.id,
            player_name=request.user.name,
            game_id=str(game_id),
        )

        return game_response(game, request.user.id)


class GameResignView(APIView):
    def post(self, request, game_id):
        game = services.game_resign(player_id=request.user.id, game_id=str(game_id))

        return game_response(game, request.user.id)


class TurnMoveView(APIView):
    def put(self, request, game_id, turn):
        data = body_object(request)
        if "move" not in data:
            raise InvalidRequest("Field move is required.", {"field": "move"})

        result = services.turn_submit_move(
            player_id=request.user.id,
            game_id=str(game_id),
            turn=turn,
            move=data["move"],
        )

        return Response(
            {
                "turn": result.turn,
                "resolved": result.resolved,
                "game": game_view(result.game, request.user.id),
            }
        )


class TurnListView(APIView):
    def get(self, request, game_id):
        after = int_param(request, "after", 0, 0, MAX_TURN_NUMBER)
        limit = int_param(request, "limit", 20, 1, 100)

        turns, next_after = services.turn_list(
            game_id=str(game_id), after=after, limit=limit
        )

        return Response(
            {"turns": [turn_view(t) for t in turns], "next_after": next_after}
        )
