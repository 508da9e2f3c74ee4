"""`python manage.py run_worker`: the background worker beside gunicorn.

It runs each task named in the LOCKSTEP_WORKER_TASKS setting (dotted paths
of functions taking no arguments and returning how many items they
handled) in a loop. Any number of workers may run at once: every task
takes the game lock and re-checks committed state before it changes
anything, so two workers never do the same work twice.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the background worker (turn deadlines and other periodic tasks)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once",
            action="store_true",
            help="run every task once and exit, for tests and cron",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=settings.LOCKSTEP_WORKER_INTERVAL,
            help="seconds to sleep between rounds when no task found work "
            "(default: LOCKSTEP_WORKER_INTERVAL)",
        )

    def handle(self, *args, once: bool, interval: float, **options):
        # With PROMETHEUS_MULTIPROC_DIR shared with gunicorn on this host, the
        # worker's metrics (deadline resolutions, webhook deliveries) appear
        # in the server's GET /metrics. prometheus_client writes its files
        # there as soon as a task module defines its metrics.
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:
            os.makedirs(metrics_dir, exist_ok=True)
        tasks = [(path, import_string(path)) for path in settings.LOCKSTEP_WORKER_TASKS]
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        logger.info("Worker started with tasks %s", [path for path, _ in tasks])

        while not stop.is_set():
            handled = 0
            for path, task in tasks:
                try:
                    handled += task() or 0
                except Exception:
                    # A failing task (storage or locks down) must not stop
                    # the others; it is retried next round.
                    logger.exception("Worker task %s failed", path)
            if once:
                break
            if handled == 0:
                stop.wait(interval)
            else:
                time.sleep(0)
        logger.info("Worker stopped")
