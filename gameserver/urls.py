"""URL routes of the API. Malformed ids never match a route, so they get 404."""

from django.conf import settings
from django.urls import path, register_converter
from django.urls.converters import UUIDConverter

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


class AnyCaseUUIDConverter(UUIDConverter):
    """A UUID path segment in any letter case, such as iOS's `UUID().uuidString`.

    Django's `uuid` converter matches only lowercase hex digits. The view still
    gets a `uuid.UUID`, whose `str()` is lowercase like every stored id.
    """

    regex = (
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    )


register_converter(AnyCaseUUIDConverter, "uuid_any_case")

urlpatterns = [
    path("api/v1/health", HealthView.as_view()),
    path("api/v1/players", PlayerCreateView.as_view()),
    path("api/v1/players/me", PlayerMeView.as_view()),
    path("api/v1/games", GameListView.as_view()),
    path("api/v1/games/<uuid_any_case:game_id>", GameDetailView.as_view()),
    path("api/v1/games/<uuid_any_case:game_id>/join", GameJoinView.as_view()),
    path("api/v1/games/<uuid_any_case:game_id>/resign", GameResignView.as_view()),
    path("api/v1/games/<uuid_any_case:game_id>/decline", GameDeclineView.as_view()),
    path("api/v1/games/<uuid_any_case:game_id>/rematch", GameRematchView.as_view()),
    path("api/v1/matchmaking", MatchmakingView.as_view()),
    path("api/v1/games/<uuid_any_case:game_id>/turns", TurnListView.as_view()),
    path(
        "api/v1/games/<uuid_any_case:game_id>/turns/<int:turn>/move",
        TurnMoveView.as_view(),
    ),
    path("api/v1/games/<uuid_any_case:game_id>/chat", ChatView.as_view()),
    path("api/v1/schema", SchemaView.as_view()),
    path("metrics", MetricsView.as_view()),
]

if settings.LOCKSTEP_BENCH_ENDPOINTS:
    from .bench_views import EmptyView

    urlpatterns.append(path("bench/empty", EmptyView.as_view()))

handler400 = "gameserver.errors.handler400"
handler404 = "gameserver.errors.handler404"
handler500 = "gameserver.errors.handler500"
