"""Middleware that runs before DRF: the body size limit and the request log."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from .errors import InvalidRequest, PayloadTooLarge, json_error_response

logger = logging.getLogger("lockstep.requests")


class BodySizeLimitMiddleware:
    """Answer 413 before reading a body whose declared length is over the limit.

    Bodies sent without a Content-Length (chunked) are cut off by the JSON
    parser at the same limit.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.LOCKSTEP_MAX_BODY_BYTES
        try:
            length = int(declared)
        except ValueError:
            return json_error_response(
                InvalidRequest(
                    f"Content-Length {declared!r} is not a whole number.",
                    {"field": "Content-Length"},
                )
            )
        if length > limit:
            return json_error_response(
                PayloadTooLarge(
                    f"The request body is {length} bytes; the limit is {limit}.",
                    {"limit": limit},
                )
            )
        return self.get_response(request)


class RequestLogMiddleware:
    """Log one line per request: method, route, status, duration and ids.

    Tokens never reach the log: only the authenticated player's id does.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "-"
        game_id = match.kwargs.get("game_id", "-") if match is not None else "-"
        player_id = getattr(request, "lockstep_player_id", None) or "-"
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(
            level,
            "request method=%s route=%s status=%s duration_ms=%.1f player=%s game=%s",
            request.method,
            route,
            response.status_code,
            elapsed_ms,
            player_id,
            game_id,
        )
        return response
