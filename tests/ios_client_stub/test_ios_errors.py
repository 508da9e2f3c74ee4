import email.utils
import json

import pytest
import requests

from ios_client_stub.client import is_retryable
from ios_client_stub.errors import ApiError, parse_retry_after


def make_response(status, body=b"", headers=None, method="PUT", url=None):
    response = requests.Response()
    response.status_code = status
    response.reason = {
        409: "Conflict",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }.get(status, "")
    if not isinstance(body, bytes):
        body = json.dumps(body).encode("utf-8")
    response._content = body
    response.encoding = "utf-8"
    response.headers.update(headers or {})
    url = url or "http://127.0.0.1:8000/api/v1/games/g1/turns/4/move"
    response.request = requests.Request(method, url).prepare()
    response.url = url
    return response


def test_api_error_reads_error_body():
    body = {
        "error": {
            "code": "turn_closed",
            "message": "Turn 3 is already resolved.",
            "details": {"turn": 4, "status": "active"},
        }
    }

    error = ApiError.from_response(make_response(409, body))

    assert error.status == 409
    assert error.code == "turn_closed"
    assert error.message == "Turn 3 is already resolved."
    assert error.details == {"turn": 4, "status": "active"}
    assert error.retry_after is None
    assert error.method == "PUT"
    assert error.path == "/api/v1/games/g1/turns/4/move"
    assert "HTTP 409 turn_closed" in str(error)


def test_api_error_reads_retry_after_seconds():
    body = {"error": {"code": "unavailable", "message": "Lock busy.", "details": {}}}

    error = ApiError.from_response(make_response(503, body, {"Retry-After": "2"}))

    assert error.code == "unavailable"
    assert error.retry_after == 2.0


def test_api_error_non_json_body():
    error = ApiError.from_response(make_response(502, b"<html>Bad Gateway</html>"))

    assert error.status == 502
    assert error.code is None
    assert "502 Bad Gateway" in error.message
    assert "<html>Bad Gateway</html>" in error.message
    assert error.details == {}


def test_api_error_json_without_error_object():
    error = ApiError.from_response(make_response(409, {"detail": "conflict"}))

    assert error.code is None
    assert "no error object" in error.message
    assert error.details == {}


def test_api_error_wrong_field_types():
    body = {"error": {"code": 5, "message": "", "details": ["turn"]}}

    error = ApiError.from_response(make_response(409, body))

    assert error.code is None
    assert error.message == "409 Conflict"
    assert error.details == {}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Wed, 21 Oct 2015 07:28:00", None),
    ],
)
def test_parse_retry_after_values(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after(header, now=now) == pytest.approx(30.0)


def test_parse_retry_after_past_date_is_zero():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now - 30, usegmt=True)

    assert parse_retry_after(header, now=now) == 0.0


def api_error(status, code=None, details=None):
    return ApiError(status, code, "message", details)


OUTCOME_UNKNOWN = {"reason": "storage", "outcome": "unknown"}


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (requests.ReadTimeout(), True, True),
        (requests.ReadTimeout(), False, False),
        (requests.ConnectionError(), True, True),
        (requests.ConnectionError(), False, False),
        (requests.ConnectTimeout(), False, True),
        (api_error(503, "unavailable"), True, True),
        (api_error(503, "unavailable"), False, True),
        (api_error(503, "unavailable", OUTCOME_UNKNOWN), True, True),
        (api_error(503, "unavailable", OUTCOME_UNKNOWN), False, False),
        (api_error(503), True, True),
        (api_error(503), False, False),
        (api_error(429, "rate_limited"), False, True),
        (api_error(500), True, False),
        (api_error(409, "turn_closed"), True, False),
        (api_error(401, "not_authenticated"), True, False),
        (ValueError("bug"), True, False),
    ],
)
def test_is_retryable_cases(error, idempotent, expected):
    assert is_retryable(error, idempotent=idempotent) is expected
