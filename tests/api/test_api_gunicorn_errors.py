"""Requests that gunicorn rejects before Django receives them get the JSON error body.

requests cannot send a malformed request line or a Content-Length that is not
a number, so those cases go through a raw socket. The sizes exceed gunicorn
27.0.1's defaults, which gameserver/gunicorn_conf.py keeps: a request line of
4094 bytes, a header of 8190 bytes and 100 headers.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from gameserver.gunicorn_worker import json_error_response
from tests.api.support import expect_error


def send_raw_request(server, data: bytes) -> tuple[int, str, dict]:
    """Send `data` as is and return the status, Content-Type and JSON body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        body = response.read()
    return response.status, response.getheader("Content-Type"), json.loads(body)


@pytest.mark.parametrize(
    ("request_bytes", "field"),
    [
        (b"GARBAGE\r\n\r\n", "request_line"),
        (b"GET /api/v1/health HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n", "request_line"),
        (
            b"POST /api/v1/players HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: abc\r\n\r\n",
            "headers",
        ),
    ],
    ids=["request_line", "http_version", "content_length"],
)
def test_malformed_request_is_json_400(server, request_bytes, field):
    status, content_type, body = send_raw_request(server, request_bytes)

    assert status == 400
    assert content_type == "application/json"
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "invalid_request"
    assert body["error"]["message"]
    assert body["error"]["details"]["field"] == field


def test_long_request_line_is_json_414(api):
    response = api.get("/api/v1/" + "a" * 9000)

    assert response.headers["Content-Type"] == "application/json"
    details = expect_error(response, 414, "invalid_request")
    assert details["field"] == "request_line"


@pytest.mark.parametrize(
    "headers",
    [{"X-Large": "a" * 9000}, {f"X-Header-{n}": "1" for n in range(120)}],
    ids=["large_header", "too_many_headers"],
)
def test_large_headers_are_json_431(api, headers):
    response = api.get("/api/v1/health", headers=headers)

    assert response.headers["Content-Type"] == "application/json"
    details = expect_error(response, 431, "invalid_request")
    assert details["field"] == "headers"


def test_application_error_page_hides_exception():
    page = (
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n\r\n<html>"
    )

    response = json_error_response(page, RuntimeError("password=hunter2"))

    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert b"Content-Type: application/json" in head
    assert json.loads(body)["error"]["code"] == "internal_error"
    assert json.loads(body)["error"]["details"] == {}
    assert b"hunter2" not in response


def test_unreadable_error_page_sent_unchanged():
    page = b"<html>no status line</html>"

    assert json_error_response(page, RuntimeError("x")) == page
