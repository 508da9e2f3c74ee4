"""URL routes of the API. Malformed ids never match a route, so they get 404."""

from django.urls import path

from chat.views import ChatView
from games.views import (
    GameDetailView,
    GameJoinView,
    GameListView,
    GameResignView,
    TurnListView,
    TurnMoveView,
)
from players.views import PlayerCreateView, PlayerMeView

from .health import HealthView

urlpatterns = [
    path("api/v1/health", HealthView.as_view()),
    path("api/v1/players", PlayerCreateView.as_view()),
    path("api/v1/players/me", PlayerMeView.as_view()),
    path("api/v1/games", GameListView.as_view()),
    path("api/v1/games/<uuid:game_id>", GameDetailView.as_view()),
    path("api/v1/games/<uuid:game_id>/join", GameJoinView.as_view()),
    path("api/v1/games/<uuid:game_id>/resign", GameResignView.as_view()),
    path("api/v1/games/<uuid:game_id>/turns", TurnListView.as_view()),
    path("api/v1/games/<uuid:game_id>/turns/<int:turn>/move", TurnMoveView.as_view()),
    path("api/v1/games/<uuid:game_id>/chat", ChatView.as_view()),
]

handler404 = "gameserver.errors.handler404"
handler500 = "gameserver.errors.handler500"
