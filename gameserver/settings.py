"""Django settings for Lockstep, read from environment variables.

Defaults run the embedded backends (SQLite plus file locks) on one machine
with no services. README.md lists every variable.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .config import env_bool, env_float, env_str, lock_settings, storage_settings

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

# Seconds a client is told to wait (Retry-After) after a 503.
LOCKSTEP_RETRY_AFTER = int(env_float("LOCKSTEP_RETRY_AFTER", 1, 1, 3600))

# Functions that `manage.py run_worker` calls in a loop, and the pause
# between rounds that found nothing to do.
LOCKSTEP_WORKER_TASKS: list[str] = []
LOCKSTEP_WORKER_INTERVAL = env_float("LOCKSTEP_WORKER_INTERVAL", 1.0, 0.05, 60)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["players.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["gameserver.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["gameserver.renderers.UTF8JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "gameserver.renderers.AlwaysJSONNegotiation",
    "EXCEPTION_HANDLER": "gameserver.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNAUTHENTICATED_TOKEN": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOCKSTEP_LOG_LEVEL", "INFO")},
    "loggers": {
        # The request log line is written by our middleware; Django's own
        # per-request warnings would repeat it.
        "django.request": {"level": "ERROR"},
        "cassandra": {"level": "WARNING"},
        "kazoo": {"level": "WARNING"},
    },
}
