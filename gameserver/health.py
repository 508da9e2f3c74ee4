"""GET /api/v1/health: whether storage and the lock service answer."""

from __future__ import annotations

import logging

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from gameserver import openapi
from gameserver.errors import Unavailable, error_body
from locking import LockError, get_lock_backend
from storage import StorageError, get_storage

logger = logging.getLogger(__name__)


def check_part(probe) -> str:
    try:
        probe()
    except (StorageError, LockError) as exc:
        logger.error("Health check failed: %s", exc)
        return "unavailable"
    return "ok"


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @openapi.api_operation(
        "health",
        "Report whether storage and the lock service respond",
        {
            200: openapi.HealthSerializer,
            503: openapi.OpenApiResponse(
                openapi.HealthUnavailableSerializer,
                "A part does not respond; it is named with the value unavailable.",
            ),
        },
        (),
        parameters=(openapi.RETRY_AFTER_HEADER,),
    )
    def get(self, request):
        parts = {
            "storage": check_part(lambda: get_storage().ping()),
            "locks": check_part(lambda: get_lock_backend().ping()),
        }

        if all(value == "ok" for value in parts.values()):
            return Response(parts)
        failing = ", ".join(name for name, value in parts.items() if value != "ok")
        error = Unavailable(f"Not answering: {failing}.", parts)
        return Response(
            {**error_body(error.code, error.message, error.details), **parts},
            status=503,
            headers=error.headers(),
        )
