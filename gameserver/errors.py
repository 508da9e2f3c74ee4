"""Domain errors and the one handler that turns any exception into JSON.

Every error response has the body
`{"error": {"code": ..., "message": ..., "details": {...}}}`. The `code`
values are part of the public API and never change meaning. Services raise
the `ApiError` subclasses below; the storage and lock layers raise their
own errors, which map to `503 unavailable` with Retry-After.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from locking import LockError, LockTimeout
from storage import StorageUnavailable, WriteConflict

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a sentence for people."""

    status = 400
    code = "invalid_request"

    def __init__(
        self, message: str, details: dict | None = None, *, code: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.details = details or {}
        if code is not None:
            self.code = code

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(ApiError):
    status = 400
    code = "invalid_request"


class MalformedJson(ApiError):
    status = 400
    code = "malformed_json"


class InvalidMoveError(ApiError):
    status = 400
    code = "invalid_move"


class TextTooLong(ApiError):
    status = 400
    code = "text_too_long"


class NotAuthenticated(ApiError):
    status = 401
    code = "not_authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="lockstep"'}


class NotAMember(ApiError):
    status = 403
    code = "not_a_member"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"


class Conflict(ApiError):
    """409: the request conflicts with the game's state.

    Its details carry the game's turn and status.
    """

    status = 409
    code = "game_not_active"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, details: dict | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(ApiError):
    status = 503
    code = "unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(settings.LOCKSTEP_RETRY_AFTER)}


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def to_api_error(exc: Exception) -> ApiError | None:
    """Map a known exception to an ApiError; None for an unknown one."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, LockTimeout):
        # games.gamestore.game_lock logs it at warning, with the game id.
        logger.debug("Lock timeout: %s", exc)
        return Unavailable(
            "The game is busy; retry shortly.", {"reason": "lock_timeout"}
        )
    if isinstance(exc, LockError):
        logger.error("Lock service failure: %s", exc)
        return Unavailable(
            "The lock service is unavailable; nothing was written.", {"reason": "locks"}
        )
    if isinstance(exc, WriteConflict):
        # games.gamestore.commit_game logs it at warning, with the game id.
        logger.debug("Fenced write rejected: %s", exc)
        return Unavailable(
            "The game changed during this request; nothing was written, retry.",
            {"reason": "write_conflict"},
        )
    if isinstance(exc, StorageUnavailable):
        logger.error("Storage failure: %s", exc)
        if exc.outcome_unknown:
            # The one 503 after which the change may be visible: storage
            # failed in the middle of the commit and could not be read back.
            return Unavailable(
                "Storage failed during the commit, so the change may or may not "
                "have been applied. Read the game before sending it again.",
                {"reason": "storage", "outcome": "unknown"},
            )
        return Unavailable(
            "Storage is unavailable; nothing was written.", {"reason": "storage"}
        )
    return _from_drf(exc)


def _from_drf(exc: Exception) -> ApiError | None:
    if isinstance(
        exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed
    ):
        return NotAuthenticated(str(exc.detail))
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return MethodNotAllowed(str(exc.detail))
    if isinstance(exc, drf_exceptions.NotFound):
        return NotFound("No such resource.")
    if isinstance(exc, drf_exceptions.ParseError):
        return MalformedJson(str(exc.detail))
    if isinstance(exc, drf_exceptions.Throttled):
        return RateLimited("Too many requests; slow down.", int(exc.wait or 1))
    if isinstance(exc, drf_exceptions.APIException):
        error = ApiError(str(exc.detail))
        error.status = exc.status_code
        return error
    return None


def exception_handler(exc: Exception, context) -> Response:
    """DRF's exception handler: every error becomes the JSON error body."""
    error = to_api_error(exc)
    if error is None:
        view = context.get("view")
        logger.exception(
            "Unhandled error in %s", type(view).__name__ if view else "view"
        )
        return Response(
            error_body("internal_error", "The server failed to handle this request."),
            status=500,
        )
    return Response(
        error_body(error.code, error.message, error.details),
        status=error.status,
        headers=error.headers(),
    )


def json_error_response(error: ApiError) -> JsonResponse:
    """Build the error response outside DRF (middleware and URL handlers)."""
    response = JsonResponse(
        error_body(error.code, error.message, error.details),
        status=error.status,
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in error.headers().items():
        response[name] = value
    return response


def handler400(request, exception=None) -> JsonResponse:
    """Answer Django's own 400s (an unknown Host header) with the JSON error body."""
    return json_error_response(
        InvalidRequest("The request is not valid for this server.")
    )


def handler404(request, exception=None) -> JsonResponse:
    return json_error_response(NotFound("No such route."))


def handler500(request) -> JsonResponse:
    return JsonResponse(
        error_body("internal_error", "The server failed to handle this request."),
        status=500,
    )
