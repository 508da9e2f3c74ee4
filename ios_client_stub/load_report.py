"""Summaries, table, JSON and latency plot of a load run."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENDPOINTS = ("GET game", "GET chat", "PUT move", "POST chat")

# Seconds per point of the latency-over-time series.
TIMELINE_STEP = 1.0


@dataclass
class Sample:
    """One request: its start in seconds from the start of the run, and outcome."""

    at: float
    endpoint: str
    seconds: float
    outcome: str
    ok: bool


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values`, or NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def summarize(samples: list[Sample], duration: float) -> dict[str, dict[str, Any]]:
    """Return count, throughput, p50, p95, p99, max and errors per endpoint and in all.

    Latencies include failed requests, so a timeout shows in the percentiles.
    """
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.endpoint].append(sample)
    groups["all"] = list(samples)
    summary = {}
    for endpoint in [*ENDPOINTS, "all"]:
        group = groups.get(endpoint, [])
        latencies = [sample.seconds for sample in group]
        errors = Counter(sample.outcome for sample in group if not sample.ok)
        summary[endpoint] = {
            "requests": len(group),
            "per_second": len(group) / duration if duration > 0 else math.nan,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p95_ms": percentile(latencies, 0.95) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "max_ms": max(latencies) * 1000 if latencies else math.nan,
            "errors": sum(errors.values()),
            "error_kinds": dict(errors),
        }
    return summary


def timeline(samples: list[Sample], duration: float) -> list[dict[str, Any]]:
    """Return, per TIMELINE_STEP of the run, the requests started and their latency."""
    steps = max(1, math.ceil(duration / TIMELINE_STEP))
    buckets: list[list[Sample]] = [[] for _ in range(steps)]
    for sample in samples:
        index = min(steps - 1, max(0, int(sample.at // TIMELINE_STEP)))
        buckets[index].append(sample)
    series = []
    for index, bucket in enumerate(buckets):
        point: dict[str, Any] = {"at": index * TIMELINE_STEP, "requests": len(bucket)}
        for endpoint in ("all", *ENDPOINTS):
            chosen = [
                s.seconds for s in bucket if endpoint == "all" or s.endpoint == endpoint
            ]
            point[endpoint] = {
                "requests": len(chosen),
                "p50_ms": percentile(chosen, 0.50) * 1000,
                "p99_ms": percentile(chosen, 0.99) * 1000,
            }
        point["errors"] = sum(1 for s in bucket if not s.ok)
        series.append(point)
    return series


def format_table(summary: dict[str, dict[str, Any]]) -> str:
    header = (
        f"{'endpoint':<10} {'requests':>9} {'req/s':>8} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}"
    )
    lines = [header, "-" * len(header)]
    for endpoint, row in summary.items():
        lines.append(
            f"{endpoint:<10} {row['requests']:>9} {row['per_second']:>8.1f} "
            f"{row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['max_ms']:>8.1f} {row['errors']:>7}"
        )
    return "\n".join(lines)


def write_json(path: Path, report: dict[str, Any]) -> None:
    # NaN, for an endpoint without requests, is not valid JSON: write null.
    text = json.dumps(_without_nan(report), indent=2, sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value


def plot_latency(path: Path, series: list[dict[str, Any]], title: str) -> bool:
    """Draw p50 and p99 latency and requests/s over time as a PNG.

    Return False, drawing nothing, when matplotlib is not installed (it is in
    the `bench` extra).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False

    times = [point["at"] for point in series]
    figure, (latency_axes, rate_axes) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 7), height_ratios=(3, 2)
    )
    for endpoint, style in (("all", "-"), ("PUT move", "--"), ("GET game", ":")):
        for key, color in (("p99_ms", "tab:red"), ("p50_ms", "tab:blue")):
            values = [_nan_if_none(point[endpoint][key]) for point in series]
            label = f"{endpoint} {key.removesuffix('_ms')}"
            latency_axes.plot(times, values, style, color=color, label=label)
    latency_axes.axhline(250, color="grey", linewidth=0.8, linestyle="-.")
    latency_axes.set_yscale("log")
    latency_axes.set_ylabel("latency per second of the run (ms)")
    latency_axes.legend(loc="upper left", fontsize="small", ncol=3)
    latency_axes.set_title(title)

    for endpoint in ENDPOINTS:
        rate_axes.plot(
            times, [point[endpoint]["requests"] for point in series], label=endpoint
        )
    rate_axes.set_ylabel("requests started per second")
    rate_axes.set_xlabel("seconds since the phones started")
    rate_axes.legend(loc="upper left", fontsize="small", ncol=4)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return True


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value
