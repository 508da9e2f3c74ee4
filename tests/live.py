"""Start and stop a real gunicorn server of Lockstep for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ALL_BACKENDS = ("sqlite", "local", "cassandra", "zookeeper")
BACKEND_PAIRS = [("sqlite", "local"), ("cassandra", "zookeeper")]


def enabled_backends() -> set[str]:
    raw = os.environ.get("LOCKSTEP_TEST_BACKENDS", ",".join(ALL_BACKENDS))
    names = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = names - set(ALL_BACKENDS)
    if unknown:
        raise RuntimeError(
            f"LOCKSTEP_TEST_BACKENDS names unknown backends {sorted(unknown)}; "
            f"use some of {', '.join(ALL_BACKENDS)}."
        )
    return names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def backend_env(storage: str, locks: str, workdir: Path) -> dict[str, str]:
    """Return environment variables that point Lockstep at fresh, private data."""
    run_id = uuid.uuid4().hex[:12]
    env = {"LOCKSTEP_STORAGE": storage, "LOCKSTEP_LOCKS": locks}
    if storage == "sqlite":
        env["LOCKSTEP_SQLITE_PATH"] = str(workdir / "lockstep.sqlite3")
    else:
        env["LOCKSTEP_CASSANDRA_KEYSPACE"] = f"test_{run_id}"
    if locks == "local":
        env["LOCKSTEP_LOCK_DIR"] = str(workdir / "locks")
    else:
        env["LOCKSTEP_ZOOKEEPER_ROOT"] = f"/lockstep-test/{run_id}"
    return env


class LiveServer:
    """gunicorn serving Lockstep on a free loopback port, with its own data."""

    def __init__(
        self,
        storage: str,
        locks: str,
        workdir: Path,
        workers: int | None = 3,
        threads: int | None = 8,
        extra_env: dict[str, str] | None = None,
    ):
        # workers or threads None keeps the value of gameserver/gunicorn_conf.py.
        self.storage = storage
        self.locks = locks
        self.workdir = Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **backend_env(storage, locks, self.workdir),
            "LOCKSTEP_BIND": f"127.0.0.1:{self.port}",
        }
        if workers is not None:
            self.env["LOCKSTEP_WORKERS"] = str(workers)
        if threads is not None:
            self.env["LOCKSTEP_THREADS"] = str(threads)
        self.env.update(extra_env or {})
        self.log_path = self.workdir / "gunicorn.log"
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            timeout=180,
        )

    def start(self, timeout: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.storage == "cassandra":
            self.manage("apply_schema")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gameserver/gunicorn_conf.py"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}; "
                    f"see {self.log_path}:\n" + self.log_tail()
                )
            try:
                response = requests.get(f"{self.url}/api/v1/health", timeout=5)
                if response.status_code == 200:
                    return
                last_error = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"Server at {self.url} not healthy after {timeout} s ({last_error}); "
            f"see {self.log_path}:\n" + self.log_tail()
        )

    def worker_pids(self) -> list[int]:
        """Return the pids of gunicorn's worker processes."""
        result = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in result.stdout.split()]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(
                self.log_path.read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
