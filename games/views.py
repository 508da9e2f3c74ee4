"""HTTP views for games and turns: parse, call one service, serialise."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response
from rest_framework.views import APIView

from gameserver import clock, openapi
from gameserver.errors import InvalidRequest
from gameserver.params import body_object, int_param, wait_param
from gameserver.throttling import MoveRateThrottle

from . import services
from .presenters import (
    etag_for,
    etag_matches,
    game_summary,
    game_view,
    poll_interval,
    turn_view,
)

MAX_TURN_NUMBER = 2**31 - 1


def game_response(game, viewer_id: str, status: int = 200) -> Response:
    response = Response(game_view(game, viewer_id), status=status)
    response["ETag"] = etag_for(game.version)
    set_poll_interval(response, game, viewer_id)
    return response


def set_poll_interval(response: Response, game, viewer_id: str) -> None:
    seconds = poll_interval(game, viewer_id, clock.now())
    response["X-Poll-Interval"] = str(seconds)


class GameListView(APIView):
    @openapi.api_operation(
        "games_list",
        "List the caller's games, or with view=open the games the caller can join",
        {200: openapi.GameListSerializer},
        (400, 401, 503),
        parameters=(OpenApiParameter("view", str, enum=["open"]),),
    )
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

    @openapi.api_operation(
        "games_create",
        "Create a game with the caller in seat 0",
        {201: openapi.GameViewSerializer},
        (400, 401, 413, 503),
        request=openapi.GameCreateSerializer,
    )
    def post(self, request):
        data = body_object(request)

        game = services.game_create(
            player_id=request.user.id,
            player_name=request.user.name,
            ruleset=data.get("ruleset"),
            seats=data.get("seats"),
            options=data.get("options"),
            invite=data.get("invite"),
        )

        return game_response(game, request.user.id, status=201)


class GameDetailView(APIView):
    @openapi.api_operation(
        "games_get",
        "Get the game view for the caller",
        {200: openapi.GameViewSerializer, 304: openapi.not_modified()},
        (400, 401, 404, 503),
        parameters=(
            openapi.WAIT_PARAMETER,
            openapi.IF_NONE_MATCH,
            openapi.ETAG_HEADER,
            openapi.POLL_INTERVAL_HEADER,
        ),
    )
    def get(self, request, game_id):
        wait = wait_param(request)

        game = services.game_get(
            game_id=str(game_id),
            wait=wait,
            unchanged=lambda current: etag_matches(request, current.version),
        )

        if etag_matches(request, game.version):
            response = Response(status=304)
            response["ETag"] = etag_for(game.version)
            set_poll_interval(response, game, request.user.id)
            return response
        return game_response(game, request.user.id)


class GameJoinView(APIView):
    @openapi.api_operation(
        "games_join",
        "Take a seat in a waiting game; joining again changes nothing",
        {200: openapi.GameViewSerializer},
        (401, 404, 409, 413, 503),
        request=None,
    )
    def post(self, request, game_id):
        game = services.game_join(
            player_id=request.user.id,
            player_name=request.user.name,
            game_id=str(game_id),
        )

        return game_response(game, request.user.id)


class GameResignView(APIView):
    @openapi.api_operation(
        "games_resign",
        "Resign from an active game",
        {200: openapi.GameViewSerializer},
        (401, 403, 404, 409, 413, 503),
        request=None,
    )
    def post(self, request, game_id):
        game = services.game_resign(player_id=request.user.id, game_id=str(game_id))

        return game_response(game, request.user.id)


class TurnMoveView(APIView):
    throttle_classes = [MoveRateThrottle]

    @openapi.api_operation(
        "turns_move",
        "Set the caller's sealed move for a turn",
        {200: openapi.MoveResultSerializer},
        (400, 401, 403, 404, 409, 413, 429, 503),
        request=openapi.MoveRequestSerializer,
        parameters=(openapi.TURN_PATH_PARAMETER,),
        description="Resending the stored move for a resolved turn returns 200 "
        "and changes nothing, so the request is safe to retry.",
    )
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

        response = Response(
            {
                "turn": result.turn,
                "resolved": result.resolved,
                "game": game_view(
                    result.game, request.user.id, own_move=result.own_move
                ),
            }
        )
        set_poll_interval(response, result.game, request.user.id)
        return response


class TurnListView(APIView):
    @openapi.api_operation(
        "turns_list",
        "List resolved turns in ascending order, with every move revealed",
        {200: openapi.TurnListSerializer},
        (400, 401, 404, 503),
        parameters=(
            openapi.query_int("after", 0, MAX_TURN_NUMBER, "Turns after this number."),
            openapi.query_int(
                "limit", 1, 100, "At most this many turns; 20 by default."
            ),
        ),
    )
    def get(self, request, game_id):
        after = int_param(request, "after", 0, 0, MAX_TURN_NUMBER)
        limit = int_param(request, "limit", 20, 1, 100)

        turns, next_after = services.turn_list(
            game_id=str(game_id), after=after, limit=limit
        )

        return Response(
            {"turns": [turn_view(t) for t in turns], "next_after": next_after}
        )
