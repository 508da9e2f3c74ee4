"""The `load` subcommand: phones against a live server, and its report."""

from __future__ import annotations

import json

import pytest

from ios_client_stub.load_report import Sample, summarize, timeline

aiohttp = pytest.importorskip("aiohttp", reason="aiohttp is in the bench extra")

from ios_client_stub.load import LoadConfig, run_load  # noqa: E402


def test_load_run_plays_and_reports(server, tmp_path):
    config = LoadConfig(
        server=server.url,
        phones=4,
        games=2,
        duration=5,
        out=tmp_path,
        poll_interval=0.5,
        think=0,
        chat_every=1,
    )

    report = run_load(config)

    summary = report["summary"]
    assert summary["all"]["errors"] == 0, summary
    assert summary["GET game"]["requests"] >= 4 * 8
    assert summary["PUT move"]["requests"] > 0
    assert summary["POST chat"]["requests"] > 0
    written = json.loads((tmp_path / "load.json").read_text())
    assert written["summary"]["all"]["requests"] == summary["all"]["requests"]
    assert len(written["timeline"]) == 5


def test_load_config_needs_two_phones_per_game(tmp_path):
    config = LoadConfig(
        server="http://127.0.0.1:1", phones=5, games=2, duration=1, out=tmp_path
    )

    with pytest.raises(ValueError, match="twice --games"):
        config.check()


def test_load_summary_counts_errors_and_percentiles():
    samples = [
        Sample(0.1 * i, "GET game", i / 1000, "304", True) for i in range(1, 101)
    ]
    samples.append(Sample(5.0, "PUT move", 10.0, "TimeoutError", False))

    summary = summarize(samples, duration=10)

    assert summary["GET game"]["requests"] == 100
    assert summary["GET game"]["p50_ms"] == pytest.approx(50)
    assert summary["GET game"]["p99_ms"] == pytest.approx(99)
    assert summary["GET game"]["errors"] == 0
    assert summary["PUT move"]["errors"] == 1
    assert summary["PUT move"]["error_kinds"] == {"TimeoutError": 1}
    assert summary["all"]["requests"] == 101
    assert summary["all"]["per_second"] == pytest.approx(10.1)


def test_load_timeline_buckets_by_second():
    samples = [
        Sample(0.2, "GET game", 0.010, "200", True),
        Sample(0.9, "GET game", 0.030, "304", True),
        Sample(1.5, "PUT move", 0.020, "500", False),
    ]

    series = timeline(samples, duration=2)

    assert [point["requests"] for point in series] == [2, 1]
    assert series[0]["GET game"]["p50_ms"] == pytest.approx(10)
    assert series[1]["PUT move"]["requests"] == 1
    assert series[1]["errors"] == 1
