"""Percentiles and timing of repeated calls."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def percentile(samples: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `samples` (`fraction` from 0 to 1)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples: list[float]) -> dict[str, float]:
    """Summarise latencies given in seconds as milliseconds."""
    return {
        "n": len(samples),
        "p50_ms": percentile(samples, 0.50) * 1000,
        "p95_ms": percentile(samples, 0.95) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "max_ms": max(samples) * 1000 if samples else math.nan,
    }


def time_call(call: Callable[[], object]) -> float:
    """Run `call` once and return its duration in seconds."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def median_ratio(large: list[float], small: list[float]) -> float:
    """Return p50(large) / p50(small)."""
    return percentile(large, 0.5) / percentile(small, 0.5)
