"""GET /metrics: the Prometheus series of every process, behind an optional token."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from prometheus_client.exposition import choose_encoder
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from . import openapi
from .errors import NotAuthenticated
from .metrics import bearer_token_matches, metrics_registry


class MetricsTokenAuthentication(BaseAuthentication):
    """Require `Authorization: Bearer <LOCKSTEP_METRICS_TOKEN>` while it is set.

    The token is compared in constant time. A request that passes is not a
    player, so the view allows anonymous requests.
    """

    def authenticate(self, request):
        token = settings.LOCKSTEP_METRICS_TOKEN
        if token and not bearer_token_matches(request, token):
            raise NotAuthenticated(
                "GET /metrics needs 'Authorization: Bearer <LOCKSTEP_METRICS_TOKEN>'."
            )
        return None

    def authenticate_header(self, request):
        return 'Bearer realm="lockstep-metrics"'


class MetricsTokenScheme(OpenApiAuthenticationExtension):
    """Describes MetricsTokenAuthentication as HTTP bearer auth in the schema."""

    target_class = "gameserver.metrics_view.MetricsTokenAuthentication"
    name = "metricsToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The LOCKSTEP_METRICS_TOKEN of the server, when set.",
        }


class MetricsView(APIView):
    """GET /metrics: every series in Prometheus text format."""

    authentication_classes = [MetricsTokenAuthentication]
    permission_classes = [AllowAny]

    @openapi.api_operation(
        "metrics",
        "Serve the server's metrics in Prometheus text format",
        {(200, "text/plain"): openapi.METRICS_TEXT},
        (401,),
        description="With LOCKSTEP_METRICS_TOKEN set, the request needs "
        "'Authorization: Bearer <LOCKSTEP_METRICS_TOKEN>'.",
    )
    def get(self, request):
        # Prometheus's own text format unless the scraper asks for OpenMetrics.
        encode, content_type = choose_encoder(request.headers.get("Accept"))
        return HttpResponse(encode(metrics_registry()), content_type=content_type)
