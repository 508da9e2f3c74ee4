"""Prometheus metrics of Lockstep; gameserver/metrics_view.py serves them.

Under gunicorn every worker is its own process, so the metrics use
prometheus_client's multiprocess mode: gunicorn_conf.py sets
PROMETHEUS_MULTIPROC_DIR before any worker starts, each process writes its
values to files there, and /metrics sums the files of every process. With
the variable unset, as in tests, the values live in this process only. The
variable must be set before prometheus_client is first imported, because
the library picks its storage at import time.
"""

from __future__ import annotations

import hmac
import os

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)

# Buckets in seconds. Requests that wait for a change last up to 30 s.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LOCK_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# A turn can stay open for days, so the largest bucket is a week.
TURN_BUCKETS = (0.1, 1, 10, 60, 600, 3600, 6 * 3600, 86400, 7 * 86400)

REQUEST_DURATION = Histogram(
    "lockstep_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern, method, status and "
    "whether the request asked to wait for a change.",
    ["route", "method", "status", "wait"],
    buckets=REQUEST_BUCKETS,
)
LOCK_WAIT = Histogram(
    "lockstep_lock_wait_seconds",
    "Time spent acquiring a game's lock, whether or not it was acquired.",
    buckets=LOCK_BUCKETS,
)
LOCK_TIMEOUTS = Counter(
    "lockstep_lock_timeouts_total",
    "Game lock acquisitions that gave up after the lock timeout.",
)
FENCING_REJECTIONS = Counter(
    "lockstep_fencing_rejections_total",
    "Commits abandoned because the lock was lost (lock_lost) or the games row "
    "had moved on (version_conflict).",
    ["reason"],
)
TURNS_RESOLVED = Counter(
    "lockstep_turns_resolved_total",
    "Turns resolved, by cause: all_in (the last move arrived) or deadline.",
    ["cause"],
)
TURN_DURATION = Histogram(
    "lockstep_turn_first_move_to_resolution_seconds",
    "Time from the first stored move of a turn to the turn's resolution. "
    "Turns that resolve with no move at all are not counted.",
    buckets=TURN_BUCKETS,
)
MISSED_TURNS = Counter(
    "lockstep_missed_turns_total",
    "Player-turns that resolved without the player's move.",
)
WEBHOOK_DELIVERIES = Counter(
    "lockstep_webhook_deliveries_total",
    "Webhook events delivered with a 2xx answer, by event type.",
    ["type"],
)
WEBHOOK_FAILURES = Counter(
    "lockstep_webhook_delivery_failures_total",
    "Failed webhook delivery attempts, by reason: status (a non-2xx answer), "
    "timeout or connection.",
    ["reason"],
)
WEBHOOK_DROPPED = Counter(
    "lockstep_webhook_events_dropped_total",
    "Webhook events given up undelivered, by reason: max_age (older than "
    "LOCKSTEP_WEBHOOK_MAX_AGE) or outbox_full.",
    ["reason"],
)
WAITING_REQUESTS = Gauge(
    "lockstep_waiting_requests",
    "Requests currently held open waiting for a change.",
    multiprocess_mode="livesum",
)
WAITS_NOT_HELD = Counter(
    "lockstep_waits_not_held_total",
    "Requests with ?wait answered at once because the worker already held "
    "LOCKSTEP_MAX_WAITING waiting requests.",
)


def metrics_registry():
    """Return the registry to expose: every process's files in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def bearer_token_matches(request, expected: str) -> bool:
    """Compare the request's bearer token with `expected` in constant time."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())
