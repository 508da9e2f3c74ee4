"""Middleware that runs before DRF: the body size limit and the request log."""

from __future__ import annotations

import io
import logging
import time

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.utils.cache import patch_vary_headers

from . import metrics
from .errors import InvalidRequest, PayloadTooLarge, json_error_response

logger = logging.getLogger("lockstep.requests")

# Methods that get their own label in the request metrics. Any other method
# a client sends is counted as "other", so clients cannot add series at will.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Maximum bytes of an oversized body that are read and discarded before the
# 413 goes out. gunicorn 27.0.1 discards at most 64 KiB of an unread body
# itself and closes the connection when more is left, so a client that reuses
# connections would see its next request fail. Larger bodies still close it.
DISCARD_MAX_BYTES = 1024 * 1024


class BodySizeLimitMiddleware:
    """Answer 413 before reading a body whose declared length is over the limit.

    A chunked body has no Content-Length, and Django reads such a body as
    empty. So this middleware reads it here, up to the limit, and passes it on
    as a body of known length, or responds with 413 when it is longer.
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
            discard_body(request)
            return json_error_response(
                PayloadTooLarge(
                    f"The request body is {length} bytes; the limit is {limit}.",
                    {"limit": limit},
                )
            )
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not buffer_chunked_body(request, limit):
                discard_body(request)
                return json_error_response(
                    PayloadTooLarge(
                        f"The chunked request body is over the limit of {limit} bytes.",
                        {"limit": limit},
                    )
                )
        return self.get_response(request)


def buffer_chunked_body(request, limit: int) -> bool:
    """Buffer a chunked body in the request; return False if it exceeds `limit`."""
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        return False
    # Django gave the request a stream limited to Content-Length, which is 0
    # here. Replacing it (a private attribute) lets request.body and DRF read
    # the buffered body.
    request._stream = LimitedStream(io.BytesIO(body), len(body))
    request.META["CONTENT_LENGTH"] = str(len(body))
    return True


def discard_body(request) -> None:
    """Read and drop the rest of a rejected body, up to DISCARD_MAX_BYTES."""
    stream = request.environ["wsgi.input"]
    discarded = 0
    while discarded < DISCARD_MAX_BYTES:
        chunk = stream.read(64 * 1024)
        if not chunk:
            return
        discarded += len(chunk)


class RequestLogMiddleware:
    """Log one line per request: method, route, status, duration and ids.

    Tokens never reach the log: only the authenticated player's id does.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "-"
        game_id = match.kwargs.get("game_id", "-") if match is not None else "-"
        player_id = getattr(request, "lockstep_player_id", None) or "-"
        wait = request.GET.get("wait")

        metrics.REQUEST_DURATION.labels(
            route=route if match is not None else "unmatched",
            method=request.method if request.method in KNOWN_METHODS else "other",
            status=str(response.status_code),
            wait="yes" if wait is not None else "no",
        ).observe(elapsed)

        fields = {
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": f"{elapsed * 1000:.1f}",
            "player": player_id,
            "game": game_id,
        }
        if wait is not None:
            # Text from the client, so it is cut short; logfmt quotes the rest.
            fields["wait"] = wait[:8]
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(level, "request", extra={"fields": fields})
        return response


class PrivateCacheMiddleware:
    """Mark every response as private to the caller and varying by token.

    A game view carries the caller's own sealed move under an ETag that is
    the same for every player, so no shared cache may store it, and a
    client-side cache must key it by the Authorization header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Cache-Control", "private, no-cache")
        patch_vary_headers(response, ["Authorization"])
        return response
