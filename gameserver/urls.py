"""URL routes of the API. Malformed ids never match a route, so they get 404."""

from django.conf import settings
from django.urls import path

from chat.views import ChatView
from games.lobby_views import GameDeclineView, GameRematchView, MatchmakingView
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
from .metrics_view import MetricsView
from .openapi import SchemaView

urlpatterns = [
    path("api/v1/health", HealthView.as_view()),
    path("api/v1/players", PlayerCreateView.as_view()),
    path("api/v1/players/me", PlayerMeView.as_view()),
    path("api/v1/games", GameListView.as_view()),
    path("api/v1/games/<uuid:game_id>", GameDetailView.as_view()),
    path("api/v1/games/<uuid:game_id>/join", GameJoinView.as_view()),
    path("api/v1/games/<uuid:game_id>/resign", GameResignView.as_view()),
    path("api/v1/games/<uuid:game_id>/decline", GameDeclineView.as_view()),
    path("api/v1/games/<uuid:game_id>/rematch", GameRematchView.as_view()),
    path("api/v1/matchmaking", MatchmakingView.as_view()),
    path("api/v1/games/<uuid:game_id>/turns", TurnListView.as_view()),
    path("api/v1/games/<uuid:game_id>/turns/<int:turn>/move", TurnMoveView.as_view()),
    path("api/v1/games/<uuid:game_id>/chat", ChatView.as_view()),
    path("api/v1/schema", SchemaView.as_view()),
    path("metrics", MetricsView.as_view()),
]

if settings.LOCKSTEP_BENCH_ENDPOINTS:
    from .bench_views import EmptyView

    urlpatterns.append(path("bench/empty", EmptyView.as_view()))

handler400 = "gameserver.errors.handler400"
handler404 = "gameserver.errors.handler404"
handler500 = "gameserver.errors.handler500"
