"""One server and worker per backend pair with webhooks, metrics and debug logs on.

The gunicorn server and `manage.py run_worker` share PROMETHEUS_MULTIPROC_DIR,
as they would on one host, so the worker's series (webhook deliveries,
deadline resolutions) are part of the server's GET /metrics. Webhooks go to
a receiver in the test process that fails, hangs and answers slowly on
purpose. LOCKSTEP_CLOCK_OFFSET_FILE lets a test move the server's clock to
pass a turn deadline.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import Api
from tests.live import ROOT, LiveServer
from tests.webhook_receiver import WebhookReceiver

WEBHOOK_SECRET = "observability-webhook-secret-5c1f"
METRICS_TOKEN = "observability-metrics-token-9e27"
# Seconds the server waits for the receiver; a hung answer lasts longer.
WEBHOOK_TIMEOUT = 0.5


def misbehaviour(event: dict, attempt: int) -> str:
    """Fail, hang or answer slowly on first attempts, chosen by the event id."""
    kind = int(hashlib.sha256(event["id"].encode()).hexdigest(), 16) % 4
    if attempt == 1:
        return ("fail", "hang", "slow", "ok")[kind]
    if attempt == 2 and kind == 0:
        return "hang"
    return "ok"


@dataclass
class ObservedServer:
    live: LiveServer
    worker: subprocess.Popen
    receiver: WebhookReceiver
    metrics_dir: Path
    clock_offset_file: Path

    @property
    def url(self) -> str:
        return self.live.url

    def advance_clock(self, seconds: float) -> None:
        """Move the clock of the server and the worker forward by `seconds`."""
        text = (
            self.clock_offset_file.read_text().strip()
            if self.clock_offset_file.exists()
            else ""
        )
        offset = float(text or 0) + seconds
        self.clock_offset_file.write_text(str(offset))

    def logs(self) -> str:
        server_log = self.live.log_path.read_text(errors="replace")
        worker_log = (self.live.workdir / "worker.log").read_text(errors="replace")
        return server_log + worker_log


@pytest.fixture(scope="package")
def observed(server, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("observed")
    receiver = WebhookReceiver(
        WEBHOOK_SECRET,
        misbehaviour,
        hang_seconds=WEBHOOK_TIMEOUT * 3,
        slow_seconds=WEBHOOK_TIMEOUT / 3,
    ).start()
    metrics_dir = workdir / "metrics"
    metrics_dir.mkdir()
    clock_offset_file = workdir / "clock-offset"

    live = LiveServer(
        server.storage,
        server.locks,
        workdir,
        workers=3,
        extra_env={
            "LOCKSTEP_WEBHOOK_URL": receiver.url,
            "LOCKSTEP_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "LOCKSTEP_WEBHOOK_TIMEOUT": str(WEBHOOK_TIMEOUT),
            "LOCKSTEP_WEBHOOK_BACKOFF": "0.05",
            "LOCKSTEP_WEBHOOK_MAX_BACKOFF": "0.3",
            "LOCKSTEP_METRICS_TOKEN": METRICS_TOKEN,
            "LOCKSTEP_LOG_LEVEL": "DEBUG",
            "LOCKSTEP_WORKER_INTERVAL": "0.1",
            "LOCKSTEP_CLOCK_OFFSET_FILE": str(clock_offset_file),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        },
    )
    live.start()

    with open(workdir / "worker.log", "ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"],
            cwd=ROOT,
            env=live.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    yield ObservedServer(live, worker, receiver, metrics_dir, clock_offset_file)

    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    live.stop()
    receiver.stop()


@pytest.fixture
def oapi(observed):
    client = Api(observed.url)
    yield client
    client.close()
