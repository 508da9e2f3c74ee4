"""The harness's record checks find what they are meant to find."""

from __future__ import annotations

from tests.torture.harness import Record, TortureResult, check_records

GAME = "11111111-1111-4111-8111-111111111111"


def record(status, kind="read", path=f"/api/v1/games/{GAME}", **fields) -> Record:
    return Record(
        phone=fields.pop("phone", 0),
        kind=kind,
        method=fields.pop("method", "GET"),
        path=path,
        body=None,
        started=fields.pop("started", 0.0),
        ended=fields.pop("ended", 0.1),
        status=status,
        **fields,
    )


def view(version: int, turn: int = 1) -> dict:
    return {
        "id": GAME,
        "version": version,
        "players": [],
        "status": "active",
        "turn": turn,
        "submitted": [],
        "chat_seq": 0,
        "outcome": None,
        "updated_at": f"t{version}",
    }


def result_of(*records: Record) -> TortureResult:
    return TortureResult(
        records=list(records), game_ids={GAME}, phone_errors=[], started=0, ended=1
    )


def test_clean_records_pass():
    records = [record(200, response=view(1)), record(304, etag='"1"')]

    assert check_records(result_of(*records)) == []


def test_server_errors_flagged():
    violations = check_records(result_of(record(500), record(502)))

    assert len(violations) == 2


def test_unexpected_status_flagged():
    violations = check_records(result_of(record(404, kind="move", method="PUT")))

    assert len(violations) == 1
    assert "unexpected 404" in violations[0]


def test_503_without_retry_after_flagged():
    violations = check_records(result_of(record(503, kind="chat", method="POST")))

    assert violations == [f"503 without Retry-After: /api/v1/games/{GAME}"]


def test_version_going_back_flagged():
    records = [record(200, response=view(5)), record(200, response=view(4))]

    violations = check_records(result_of(*records))

    assert violations == [f"phone 0 saw game {GAME} go back from version 5 to 4"]


def test_stale_304_flagged():
    records = [record(200, response=view(5)), record(304, etag='"3"')]

    violations = check_records(result_of(*records))

    assert len(violations) == 1


def test_one_version_two_states_flagged():
    records = [
        record(200, response=view(2, turn=1)),
        record(200, response=view(2, turn=2), phone=1),
    ]

    violations = check_records(result_of(*records))

    assert violations == [f"game {GAME} version 2 came with two different states"]


def test_outcome_unknown_cases():
    unknown_503 = {
        "error": {
            "code": "unavailable",
            "message": "m",
            "details": {"reason": "storage", "outcome": "unknown"},
        }
    }
    known_503 = {
        "error": {
            "code": "unavailable",
            "message": "m",
            "details": {"reason": "storage"},
        }
    }

    assert record(None).outcome_unknown is True
    assert record(503, response=unknown_503).outcome_unknown is True
    assert record(503, response=known_503).outcome_unknown is False
    assert record(503, response="<html>").outcome_unknown is False
    assert record(200, response=view(1)).outcome_unknown is False
