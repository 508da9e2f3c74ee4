"""Django settings for Lockstep, read from environment variables.

Defaults run the embedded backends (SQLite plus file locks) on one machine
with no services. README.md lists every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .config import (
    env_bool,
    env_float,
    env_int,
    env_rate,
    env_str,
    lock_settings,
    storage_settings,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("LOCKSTEP_DEBUG", False)

# Django signs nothing that outlives a process here (no sessions, no
# cookies), so a random key per start is safe when none is configured.
SECRET_KEY = env_str("LOCKSTEP_SECRET_KEY", "") or secrets.token_urlsafe(50)

ALLOWED_HOSTS = [
    host.strip()
    for host in env_str("LOCKSTEP_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "LOCKSTEP_ALLOWED_HOSTS is empty; set it to the host names clients use, "
        "comma-separated."
    )

INSTALLED_APPS = [
    "rest_framework",
    "drf_spectacular",
    "gameserver",
    "storage",
    "locking",
    "players",
    "games",
    "chat",
]

MIDDLEWARE = [
    "gameserver.middleware.RequestLogMiddleware",
    "gameserver.middleware.BodySizeLimitMiddleware",
    "gameserver.middleware.PrivateCacheMiddleware",
    "gameserver.throttling.RateLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "gameserver.urls"
WSGI_APPLICATION = "gameserver.wsgi.application"

# Game data lives in the storage layer, not in a relational database.
DATABASES: dict = {}

APPEND_SLASH = False
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False

# Request bodies above this size get 413 payload_too_large.
LOCKSTEP_MAX_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = LOCKSTEP_MAX_BODY_BYTES

LOCKSTEP_STORAGE_BACKEND, LOCKSTEP_STORAGE_OPTIONS = storage_settings(BASE_DIR)
LOCKSTEP_LOCK_BACKEND, LOCKSTEP_LOCK_OPTIONS = lock_settings(BASE_DIR)

# Seconds sent in Retry-After with a 503.
LOCKSTEP_RETRY_AFTER = int(env_float("LOCKSTEP_RETRY_AFTER", 1, 1, 3600))

# Serve GET /bench/empty, a DRF endpoint that reads nothing, which `make bench`
# compares the cost of polling with. Off by default, and never in production.
LOCKSTEP_BENCH_ENDPOINTS = env_bool("LOCKSTEP_BENCH_ENDPOINTS", False)

# Seconds a worker process remembers the player of a token it has looked up,
# saving a storage read per request; 0 turns the cache off.
LOCKSTEP_TOKEN_CACHE_SECONDS = env_float("LOCKSTEP_TOKEN_CACHE_SECONDS", 60, 0, 3600)

# Per-player rate limits as (requests, window in seconds), or None when off:
# move submissions, and chat posts. A player moves once per turn and types
# far slower, so the defaults only stop scripts and runaway retry loops.
LOCKSTEP_RATE_MOVES = env_rate("LOCKSTEP_RATE_MOVES", "60/10s")
LOCKSTEP_RATE_CHAT = env_rate("LOCKSTEP_RATE_CHAT", "60/10s")

# Functions that `manage.py run_worker` calls in a loop, and the pause
# between rounds that found nothing to do.
LOCKSTEP_WORKER_TASKS: list[str] = [
    "games.deadlines.resolve_due_games",
    "games.webhooks.deliver_webhooks",
    "locking.sweep_idle_locks",
]
LOCKSTEP_WORKER_INTERVAL = env_float("LOCKSTEP_WORKER_INTERVAL", 1.0, 0.05, 60)
# How often the worker deletes empty lock znodes that a crashed or expired
# holder left, and how old they must be.
LOCKSTEP_LOCK_SWEEP_SECONDS = env_float("LOCKSTEP_LOCK_SWEEP_SECONDS", 60, 1, 86400)

# Requests that wait for a change (?wait=S) each occupy a gunicorn thread.
# LOCKSTEP_THREADS is the threads per worker, and gunicorn_conf.py reads it
# with the same default. At most LOCKSTEP_MAX_WAITING of them wait at once,
# so the rest stay free for other requests, and a request beyond that gets
# its response at once. A per-process watcher reads the versions of the
# games being waited on every LOCKSTEP_WAIT_CHECK_INTERVAL seconds.
LOCKSTEP_THREADS = env_int("LOCKSTEP_THREADS", 32, 1, 1024)
LOCKSTEP_MAX_WAITING = env_int(
    "LOCKSTEP_MAX_WAITING", max(0, LOCKSTEP_THREADS - 4), 0, 100000
)
LOCKSTEP_WAIT_CHECK_INTERVAL = env_float("LOCKSTEP_WAIT_CHECK_INTERVAL", 0.15, 0.01, 1)

# Webhooks: with a URL, every change of the types in games/outbox.py is
# recorded in the game's commit and POSTed there by the worker, signed with
# HMAC-SHA256 under the secret. Delivery is retried with a backoff growing
# from LOCKSTEP_WEBHOOK_BACKOFF to LOCKSTEP_WEBHOOK_MAX_BACKOFF seconds until
# a 2xx response or until the event is LOCKSTEP_WEBHOOK_MAX_AGE seconds old.
LOCKSTEP_WEBHOOK_URL = env_str("LOCKSTEP_WEBHOOK_URL", "")
LOCKSTEP_WEBHOOK_SECRET = env_str("LOCKSTEP_WEBHOOK_SECRET", "")
if LOCKSTEP_WEBHOOK_URL:
    _webhook_url = urlsplit(LOCKSTEP_WEBHOOK_URL)
    if _webhook_url.scheme not in ("http", "https") or not _webhook_url.netloc:
        raise ImproperlyConfigured(
            f"LOCKSTEP_WEBHOOK_URL={LOCKSTEP_WEBHOOK_URL!r} is not valid; set it to "
            "an http:// or https:// URL, or leave it empty to send no webhooks."
        )
    if not LOCKSTEP_WEBHOOK_SECRET:
        raise ImproperlyConfigured(
            "LOCKSTEP_WEBHOOK_URL is set but LOCKSTEP_WEBHOOK_SECRET is empty; set "
            "the secret that receivers use to check X-Lockstep-Signature."
        )
LOCKSTEP_WEBHOOK_MAX_AGE = env_float("LOCKSTEP_WEBHOOK_MAX_AGE", 86400, 1, 30 * 86400)
LOCKSTEP_WEBHOOK_TIMEOUT = env_float("LOCKSTEP_WEBHOOK_TIMEOUT", 5, 0.1, 60)
LOCKSTEP_WEBHOOK_BACKOFF = env_float("LOCKSTEP_WEBHOOK_BACKOFF", 1, 0.01, 3600)
LOCKSTEP_WEBHOOK_MAX_BACKOFF = env_float(
    "LOCKSTEP_WEBHOOK_MAX_BACKOFF", 300, 0.01, 86400
)
LOCKSTEP_WEBHOOK_CONCURRENCY = env_int("LOCKSTEP_WEBHOOK_CONCURRENCY", 8, 1, 64)

# GET /metrics needs "Authorization: Bearer <token>" when this is set.
LOCKSTEP_METRICS_TOKEN = env_str("LOCKSTEP_METRICS_TOKEN", "")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["players.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["gameserver.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["gameserver.renderers.UTF8JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "gameserver.renderers.AlwaysJSONNegotiation",
    "EXCEPTION_HANDLER": "gameserver.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema served at GET /api/v1/schema (gameserver/openapi.py).
SPECTACULAR_SETTINGS = {
    "TITLE": "Lockstep API",
    "DESCRIPTION": (
        "Simultaneous-turn games: sealed moves per turn, polling with ETags, "
        "and a chat per game. Every error has the body "
        '{"error": {"code", "message", "details"}}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": True,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ErrorCodeEnum": "gameserver.openapi.ERROR_CODE_CHOICES",
        "GameStatusEnum": "gameserver.openapi.STATUS_CHOICES",
        "OutcomeEnum": "gameserver.openapi.OUTCOME_CHOICES",
        "PlayerStatusEnum": "gameserver.openapi.PLAYER_STATUS_CHOICES",
        "HealthPartEnum": "gameserver.openapi.HEALTH_CHOICES",
    },
}

LOG_LEVEL = env_str("LOCKSTEP_LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOCKSTEP_LOG_LEVEL={LOG_LEVEL!r} is not valid; "
        "set it to DEBUG, INFO, WARNING, ERROR or CRITICAL."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "logfmt": {"()": "gameserver.logs.LogfmtFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "logfmt"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # The request log line is written by our middleware; Django's own
        # per-request warnings would repeat it.
        "django.request": {"level": "ERROR"},
        # A request with an unknown Host header gets a JSON 400 and one
        # request log line; Django's own traceback for it is noise.
        "django.security.DisallowedHost": {"level": "CRITICAL"},
        "cassandra": {"level": "WARNING"},
        "kazoo": {"level": "WARNING"},
    },
}
