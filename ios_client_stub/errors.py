"""Exceptions raised by the Lockstep client stub."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import requests

# Characters of a non-JSON error body kept in ApiError.message.
_BODY_EXCERPT_CHARS = 200


class ApiError(Exception):
    """An HTTP response that the client did not expect, usually a 4xx or 5xx.

    ``code``, ``message`` and ``details`` come from the server's error body
    ``{"error": {"code", "message", "details"}}``. ``code`` is None when the
    body is not in that form, for example an HTML page from a proxy.
    ``retry_after`` is the Retry-After header in seconds, or None when absent
    or unparseable.
    """

    def __init__(
        self,
        status: int,
        code: str | None,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.retry_after = retry_after
        self.method = method
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        request = f"{self.method} {self.path}: " if self.method and self.path else ""
        code = f" {self.code}" if self.code else ""
        text = f"{request}HTTP {self.status}{code}: {self.message}"
        if self.details:
            text += f" (details: {self.details})"
        return text

    @classmethod
    def from_response(cls, response: requests.Response) -> ApiError:
        """Build an ApiError from a response, reading the body's error object."""
        request = response.request
        method = request.method if request is not None else None
        path = request.path_url if request is not None else None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))

        code, message, details = _parse_error_body(response)
        return cls(
            status=response.status_code,
            code=code,
            message=message,
            details=details,
            retry_after=retry_after,
            method=method,
            path=path,
        )


class PollTimeout(TimeoutError):
    """Raised when no game view matches the ``poll_until`` predicate in time."""

    def __init__(self, game_id: str, max_wait: float, last_view: dict | None) -> None:
        self.game_id = game_id
        self.max_wait = max_wait
        self.last_view = last_view
        version = last_view.get("version") if last_view else None
        super().__init__(
            f"game {game_id} did not reach the expected state within "
            f"{max_wait:g} s (last version seen: {version})"
        )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Convert a Retry-After header to seconds from now.

    The header is either a number of seconds or an HTTP date (RFC 9110).
    Returns None for a missing or invalid value, and never a
    negative number. ``now`` is a Unix time, the current time by default.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # float() also accepts "nan" and "inf", which no server means.
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _parse_error_body(
    response: requests.Response,
) -> tuple[str | None, str, dict[str, Any]]:
    reason = response.reason or ""
    fallback = f"{response.status_code} {reason}".strip()
    try:
        body = response.json()
    except ValueError:
        excerpt = response.text[:_BODY_EXCERPT_CHARS].strip()
        message = f"{fallback}, body is not JSON: {excerpt!r}" if excerpt else fallback
        return None, message, {}

    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, f"{fallback}, body has no error object: {body!r:.200}", {}

    code = error.get("code")
    message = error.get("message")
    details = error.get("details")
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) and message else fallback,
        details if isinstance(details, dict) else {},
    )
