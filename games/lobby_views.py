"""HTTP views for matchmaking, declining an invitation and rematches."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from gameserver import openapi
from gameserver.params import body_object

from . import lobby
from .presenters import game_view
from .views import game_response, set_poll_interval


class MatchmakingRequestSerializer(serializers.Serializer):
    ruleset = serializers.CharField()
    seats = serializers.IntegerField(required=False)
    options = serializers.DictField(child=serializers.JSONField(), required=False)


class GameEnvelopeSerializer(serializers.Serializer):
    game = openapi.GameViewSerializer()


class MatchmakingView(APIView):
    @openapi.api_operation(
        "matchmaking",
        "Join the oldest waiting public game with these settings, or create one",
        {200: GameEnvelopeSerializer},
        (400, 401, 413, 503),
        request=MatchmakingRequestSerializer,
    )
    def post(self, request):
        data = body_object(request)

        game = lobby.matchmake(
            player_id=request.user.id,
            player_name=request.user.name,
            ruleset=data.get("ruleset"),
            seats=data.get("seats"),
            options=data.get("options"),
        )

        response = Response({"game": game_view(game, request.user.id)})
        set_poll_interval(response, game, request.user.id)
        return response


class GameDeclineView(APIView):
    @openapi.api_operation(
        "games_decline",
        "Give up the seat reserved for the caller by an invitation",
        {200: openapi.GameViewSerializer},
        (401, 403, 404, 409, 413, 503),
        request=None,
    )
    def post(self, request, game_id):
        game = lobby.game_decline(player_id=request.user.id, game_id=str(game_id))

        return game_response(game, request.user.id)


class GameRematchView(APIView):
    @openapi.api_operation(
        "games_rematch",
        "Get or create the rematch of a finished game",
        {200: GameEnvelopeSerializer},
        (401, 403, 404, 409, 413, 503),
        request=None,
    )
    def post(self, request, game_id):
        game = lobby.game_rematch(
            player_id=request.user.id,
            player_name=request.user.name,
            game_id=str(game_id),
        )

        response = Response({"game": game_view(game, request.user.id)})
        set_poll_interval(response, game, request.user.id)
        return response
