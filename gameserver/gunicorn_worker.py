"""A gunicorn gthread worker whose own error responses have the API's JSON body.

gunicorn rejects some requests before Django receives them: a malformed request
line (400), an invalid header such as `Content-Length: abc` (400), a request
line over `limit_request_line` (414), or headers over `limit_request_fields`
or `limit_request_field_size` (431). Its error page for them is HTML. This
worker keeps gunicorn's status code, log lines and access log entry, and
replaces the HTML with `{"error": {"code", "message", "details"}}`.

Checked against gunicorn 27.0.1, whose `Worker.handle_error` writes the page
with `gunicorn.util.write_error` on the client socket that it is given.
This module imports nothing from Django, because gunicorn's master process
loads the worker class.
"""

from __future__ import annotations

import json
import re

from gunicorn import util
from gunicorn.http.errors import (
    ChunkMissingTerminator,
    InvalidChunkExtension,
    InvalidChunkSize,
    InvalidHeader,
    InvalidHeaderName,
    InvalidHTTPVersion,
    InvalidRequestLine,
    InvalidRequestMethod,
    LimitRequestHeaders,
    LimitRequestLine,
    ObsoleteFolding,
)
from gunicorn.workers.gthread import ThreadWorker

# The status line of gunicorn's error page, such as "HTTP/1.1 431 Request
# Header Fields Too Large".
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9][0-9]) [^\r\n]*")

# Maximum length of gunicorn's description of the error that goes into
# `details.parser_error`. It can repeat part of the request line.
MAX_PARSER_ERROR_LENGTH = 200

# gunicorn's parser errors by the part of the request they are about, which
# `details.field` names.
REQUEST_LINE_ERRORS = (
    InvalidRequestLine,
    InvalidRequestMethod,
    InvalidHTTPVersion,
    LimitRequestLine,
)
HEADER_ERRORS = (InvalidHeader, InvalidHeaderName, ObsoleteFolding, LimitRequestHeaders)
BODY_ERRORS = (InvalidChunkSize, ChunkMissingTerminator, InvalidChunkExtension)

MESSAGES = {
    400: "The request is not valid HTTP/1.1, so the server could not read it.",
    414: "The request line is longer than the server accepts. Send a shorter URL.",
    431: "The request headers are larger than the server accepts. Send fewer or "
    "shorter headers.",
    500: "The server failed to handle the request.",
}
OTHER_CLIENT_ERROR_MESSAGE = "The server could not accept the request."


class JSONErrorThreadWorker(ThreadWorker):
    """A gthread worker that sends gunicorn's own error responses as JSON."""

    def handle_error(self, req, client, addr, exc):
        capture = ResponseCapture(client)
        super().handle_error(req, capture, addr, exc)

        response = json_error_response(bytes(capture.data), exc)
        if not response:
            return
        try:
            util.write_nonblock(client, response)
        except OSError as error:
            # gunicorn 27.0.1 logs a failed write of its error page at debug
            # level too.
            self.log.debug("Failed to send the JSON error response: %s", error)


class ResponseCapture:
    """The client socket, except that the bytes sent to it are kept, not sent."""

    def __init__(self, sock):
        self._sock = sock
        self.data = bytearray()

    def sendall(self, data) -> None:
        self.data += data

    def send(self, data) -> int:
        self.data += data
        return len(data)

    def __getattr__(self, name):
        return getattr(self._sock, name)


def json_error_response(page: bytes, exc: BaseException) -> bytes:
    """Return gunicorn's error response `page` with the API's JSON error body.

    The status line is kept. A page whose status line cannot be read is
    returned unchanged, and an empty page stays empty.
    """
    match = STATUS_LINE.match(page)
    if match is None:
        return page

    status = int(match.group(1))
    # gunicorn 27.0.1 sends 500 for an exception of the application or a
    # configuration problem, and 501 for a transfer coding it does not support.
    if status == 500:
        code = "internal_error"
        details = {}
    else:
        code = "invalid_request"
        details = {
            "field": error_field(exc),
            "parser_error": str(exc)[:MAX_PARSER_ERROR_LENGTH],
        }
    message = MESSAGES.get(status, OTHER_CLIENT_ERROR_MESSAGE)
    body = json.dumps(
        {"error": {"code": code, "message": message, "details": details}},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")

    head = [
        match.group(0),
        b"Connection: close",
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def error_field(exc: BaseException) -> str:
    """Name the part of the request that a gunicorn parser error is about."""
    if isinstance(exc, REQUEST_LINE_ERRORS):
        return "request_line"
    if isinstance(exc, HEADER_ERRORS):
        return "headers"
    if isinstance(exc, BODY_ERRORS):
        return "body"
    return "request"
