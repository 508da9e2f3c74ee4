"""The OpenAPI 3 description of the API, for drf-spectacular.

The views build their JSON by hand (games/presenters.py and the views), so
the serializers here only describe shapes for the schema and never
validate or render anything. `GET /api/v1/schema` serves the result.

`responses(...)` gives an operation its success responses and the error
responses of the statuses it can return, all with the one error body.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from games.rules import RULESETS

# Every error code the server sends, with its status. Clients switch on these.
ERROR_CODES = {
    "invalid_request": 400,
    "malformed_json": 400,
    "invalid_move": 400,
    "text_too_long": 400,
    "not_authenticated": 401,
    "not_a_member": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "game_full": 409,
    "game_not_active": 409,
    "wrong_turn": 409,
    "turn_closed": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "internal_error": 500,
    "unavailable": 503,
}

ERROR_CODE_CHOICES = sorted(ERROR_CODES)

ERROR_DESCRIPTIONS = {
    400: "The request is invalid; `details.field` names the field.",
    401: "No token, or an unknown one; the response carries WWW-Authenticate.",
    403: "The caller is not seated in the game.",
    404: "No such player, game or route. A malformed id in a path is 404 too.",
    409: "The request conflicts with the game's state; `details` carries the "
    "current `turn` and `status`.",
    413: "The request body is larger than 64 KiB.",
    429: "Too many requests of this kind from the caller; retry after "
    "`Retry-After` seconds.",
    503: "Storage or the lock service is unavailable, or the game's lock was not "
    "acquired in time. Nothing was written; retry after `Retry-After` seconds.",
}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes players.auth.BearerTokenAuthentication as HTTP bearer auth."""

    target_class = "players.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The token returned once by POST /api/v1/players.",
        }


# -- errors ----------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ERROR_CODE_CHOICES)
    message = serializers.CharField(help_text="One plain sentence for people.")
    details = serializers.DictField(child=serializers.JSONField())


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# -- players and health ------------------------------------------------------


class PlayerCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        min_length=1, max_length=40, help_text="1 to 40 characters after trimming."
    )


class PlayerCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    token = serializers.CharField(help_text="Shown only here; the server keeps a hash.")


class PlayerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


HEALTH_CHOICES = ["ok", "unavailable"]


class HealthSerializer(serializers.Serializer):
    storage = serializers.ChoiceField(choices=HEALTH_CHOICES)
    locks = serializers.ChoiceField(choices=HEALTH_CHOICES)


class HealthUnavailableSerializer(HealthSerializer):
    error = ErrorDetailSerializer()


# -- games -----------------------------------------------------------------


class GameCreateSerializer(serializers.Serializer):
    ruleset = serializers.ChoiceField(choices=sorted(RULESETS))
    seats = serializers.IntegerField(
        min_value=2,
        max_value=16,
        required=False,
        help_text="The ruleset decides which counts it allows; its minimum by default.",
    )
    options = serializers.DictField(child=serializers.JSONField(), required=False)
    invite = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        help_text="Players whose seats are reserved, at most seats - 1.",
    )


STATUS_CHOICES = ["waiting", "active", "finished"]
PLAYER_STATUS_CHOICES = ["active", "resigned", "out"]
OUTCOME_CHOICES = ["won", "lost", "draw", "resigned"]


class SeatSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    seat = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PLAYER_STATUS_CHOICES)
    missed = serializers.IntegerField(required=False)


class GameViewSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ruleset = serializers.CharField()
    seats = serializers.IntegerField()
    options = serializers.DictField(child=serializers.JSONField())
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    players = SeatSerializer(many=True)
    turn = serializers.IntegerField()
    submitted = serializers.ListField(child=serializers.UUIDField())
    your_move = serializers.JSONField(
        allow_null=True, help_text="The caller's own move for the current turn."
    )
    state = serializers.JSONField(allow_null=True)
    chat_seq = serializers.IntegerField()
    outcome = serializers.DictField(
        child=serializers.ChoiceField(choices=OUTCOME_CHOICES), allow_null=True
    )
    deadline = serializers.DateTimeField(
        allow_null=True, help_text="When the current turn closes; null unless active."
    )
    invited = serializers.BooleanField(
        help_text="Whether a seat of this waiting game is reserved for the caller."
    )
    invited_players = serializers.ListField(
        child=serializers.UUIDField(),
        help_text="Invited players who have neither joined nor declined.",
    )
    rematch_id = serializers.UUIDField(
        allow_null=True, help_text="The rematch of this finished game, once asked for."
    )
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GameSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ruleset = serializers.CharField()
    seats = serializers.IntegerField()
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    turn = serializers.IntegerField()
    players = SeatSerializer(many=True)
    your_move_needed = serializers.BooleanField()
    invited = serializers.BooleanField()
    deadline = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class GameListSerializer(serializers.Serializer):
    games = GameSummarySerializer(many=True)


# -- turns -----------------------------------------------------------------


class MoveRequestSerializer(serializers.Serializer):
    move = serializers.JSONField(help_text="The move; its form depends on the ruleset.")


class MoveResultSerializer(serializers.Serializer):
    turn = serializers.IntegerField()
    resolved = serializers.BooleanField()
    game = GameViewSerializer()


class TurnSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    moves = serializers.DictField(child=serializers.JSONField(allow_null=True))
    events = serializers.ListField(child=serializers.JSONField())
    timed_out = serializers.ListField(child=serializers.UUIDField(), required=False)
    cause = serializers.CharField(required=False)
    resolved_at = serializers.DateTimeField()


class TurnListSerializer(serializers.Serializer):
    turns = TurnSerializer(many=True)
    next_after = serializers.IntegerField()


# -- chat ------------------------------------------------------------------


class ChatPostSerializer(serializers.Serializer):
    text = serializers.CharField(min_length=1, max_length=2000)
    client_id = serializers.CharField(
        min_length=1,
        max_length=64,
        required=False,
        help_text="Repeating a post with the same client_id adds nothing.",
    )


class ChatLineSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    player = serializers.UUIDField()
    text = serializers.CharField()
    sent_at = serializers.DateTimeField()
    client_id = serializers.CharField(required=False)


class ChatPageSerializer(serializers.Serializer):
    messages = ChatLineSerializer(many=True)
    next_after = serializers.IntegerField()


# -- parameters and responses -------------------------------------------------

ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description='The version as a quoted string, such as "7".',
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag from an earlier response; 304 when it is still current.",
)
RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429, 503],
    description="Seconds to wait before retrying.",
)
WWW_AUTHENTICATE_HEADER = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[401],
)

TURN_PATH_PARAMETER = OpenApiParameter(
    "turn",
    {"type": "integer", "minimum": 0},
    OpenApiParameter.PATH,
    description="The turn number; the current turn is the game view's turn.",
)


def query_int(name: str, low: int, high: int, description: str) -> OpenApiParameter:
    """Describe an optional whole-number query parameter from `low` to `high`."""
    return OpenApiParameter(
        name,
        {"type": "integer", "minimum": low, "maximum": high},
        OpenApiParameter.QUERY,
        description=description,
    )


def responses(ok: dict, *error_statuses: int) -> dict:
    """Return the responses of an operation: `ok` plus one per error status."""
    result = dict(ok)
    for status in error_statuses:
        result[status] = OpenApiResponse(ErrorSerializer, ERROR_DESCRIPTIONS[status])
    return result


def not_modified() -> OpenApiResponse:
    return OpenApiResponse(
        description="Not modified: the If-None-Match ETag is current. No body."
    )


def header_parameters(error_statuses) -> list[OpenApiParameter]:
    """Return the response headers that come with these error statuses."""
    headers = []
    if 401 in error_statuses:
        headers.append(WWW_AUTHENTICATE_HEADER)
    if 429 in error_statuses or 503 in error_statuses:
        headers.append(RETRY_AFTER_HEADER)
    return headers


class SchemaView(SpectacularAPIView):
    """GET /api/v1/schema: this OpenAPI document, as JSON, without a token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [OpenApiJsonRenderer]


def api_operation(
    operation_id: str,
    summary: str,
    ok: dict,
    errors: tuple[int, ...],
    *,
    request=None,
    parameters: tuple[OpenApiParameter, ...] = (),
    description: str | None = None,
):
    """Return the extend_schema decorator of one operation.

    `ok` maps success statuses to their body schema (None for no body),
    `errors` lists the error statuses the operation can return, and the
    response headers that come with them (Retry-After, WWW-Authenticate)
    are added.
    """
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        request=request,
        parameters=[*parameters, *header_parameters(errors)],
        responses=responses(ok, *errors),
    )


# -- waiting polls and metrics ------------------------------------------------

WAIT_PARAMETER = OpenApiParameter(
    "wait",
    {"type": "number", "minimum": 0, "maximum": 30},
    OpenApiParameter.QUERY,
    description="Seconds (0 to 30, up to three decimals) to hold the request "
    "until something changes. With no change the game view answers 304 and "
    "the chat an empty messages list.",
)
POLL_INTERVAL_HEADER = OpenApiParameter(
    "X-Poll-Interval",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[200, 304],
    description="Seconds the server suggests before the next poll: 1 while a "
    "rival's move is expected soon, 5 while the game is quiet or has open "
    "seats, 30 while the game waits on the caller's move or has finished.",
)
METRICS_TEXT = OpenApiResponse(
    OpenApiTypes.STR,
    "Every series in Prometheus text format (text/plain; version=0.0.4), or "
    "in OpenMetrics when the Accept header asks for it.",
)
