"""HTTP views for players."""

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from gameserver import openapi
from gameserver.params import body_object

from .services import player_create


class PlayerCreateView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @openapi.api_operation(
        "players_create",
        "Register a player and return its token, shown only here",
        {201: openapi.PlayerCreatedSerializer},
        (400, 413, 503),
        request=openapi.PlayerCreateSerializer,
    )
    def post(self, request):
        data = body_object(request)

        player, token = player_create(name=data.get("name"))

        return Response(
            {"id": player.id, "name": player.name, "token": token}, status=201
        )


class PlayerMeView(APIView):
    @openapi.api_operation(
        "players_me",
        "Return the caller's id and name",
        {200: openapi.PlayerSerializer},
        (401, 503),
    )
    def get(self, request):
        return Response({"id": request.user.id, "name": request.user.name})
