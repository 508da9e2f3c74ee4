"""gunicorn settings for Lockstep, read from environment variables.

Threaded workers (gthread) keep a request that waits on a lock, on storage
or for a change (`?wait=S`) from blocking the other requests of its process.
A waiting request occupies one thread, so workers get more threads than
requests would otherwise need. LOCKSTEP_MAX_WAITING (settings.py) keeps a
few of them free for everything else.

Metrics: every worker writes its Prometheus values to files in
PROMETHEUS_MULTIPROC_DIR, which must be set before a worker imports
prometheus_client. When it is unset, this file creates a fresh folder for
this server's run and removes it on exit. A folder set by the operator is
used as is and must be emptied before each start, as prometheus_client's
documentation asks.
"""

import multiprocessing
import os
import shutil
import sys
import tempfile


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        sys.exit(
            f"{name}={raw!r} is not valid; set it to a whole number from "
            f"{low} to {high}."
        )
    return int(raw)


bind = os.environ.get("LOCKSTEP_BIND", "127.0.0.1:8000")
workers = _whole_number("LOCKSTEP_WORKERS", max(2, multiprocessing.cpu_count()), 1, 256)
# A gthread worker that sends gunicorn's own error responses (400, 414, 431)
# as JSON, from gameserver/gunicorn_worker.py.
worker_class = "gameserver.gunicorn_worker.JSONErrorThreadWorker"
# The same default as LOCKSTEP_THREADS in settings.py.
threads = _whole_number("LOCKSTEP_THREADS", 32, 1, 1024)
# A gthread worker reports to the arbiter from its main loop, not from the
# request threads, so a request held for up to 30 s by ?wait does not count
# against this. Lock and storage waits are bounded well below it.
timeout = _whole_number("LOCKSTEP_WORKER_TIMEOUT", 30, 5, 3600)
# gunicorn's control socket defaults to one path per user, shared by every
# gunicorn on the host; Lockstep does not use it.
control_socket_disable = True
graceful_timeout = 10
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOCKSTEP_GUNICORN_LOG_LEVEL", "info").lower()
if loglevel not in {"debug", "info", "warning", "error", "critical"}:
    sys.exit(
        f"LOCKSTEP_GUNICORN_LOG_LEVEL={loglevel!r} is not valid; "
        "set it to debug, info, warning, error or critical."
    )
wsgi_app = "gameserver.wsgi:application"

# After the checks above, so that a bad setting leaves no folder behind.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = None
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
else:
    _own_metrics_dir = tempfile.mkdtemp(prefix="lockstep-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _own_metrics_dir


def child_exit(server, worker):
    """Drop the dead worker's live gauges (waiting requests) from the metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir is not None:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)
