"""gunicorn settings for Lockstep, read from environment variables.

Threaded workers (gthread) keep a request that waits on a lock or on
storage from blocking the other requests of its process.
"""

import multiprocessing
import os

bind = os.environ.get("LOCKSTEP_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("LOCKSTEP_WORKERS", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("LOCKSTEP_THREADS", "8"))
# Lock and storage waits are bounded well below this, so a request that
# hits the timeout points to a bug, not to a slow dependency.
timeout = int(os.environ.get("LOCKSTEP_WORKER_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOCKSTEP_GUNICORN_LOG_LEVEL", "info")
wsgi_app = "gameserver.wsgi:application"
