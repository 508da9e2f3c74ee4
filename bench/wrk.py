"""Throughput of one URL, measured with wrk (Debian package `wrk`).

wrk is a C load generator, so it takes far less of the machine's CPU than a
Python client would, and more of it is left to the server under test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlsplit

REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
UNEXPECTED = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)


@dataclass
class WrkResult:
    requests_per_second: float
    errors: int
    output: str


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError(
            "wrk is not installed; `make bench` installs it (apt-get install wrk)."
        )
    return path


def run_wrk(
    url: str,
    seconds: float,
    connections: int,
    headers: dict[str, str] | None = None,
    threads: int = 1,
) -> WrkResult:
    """Load `url` for `seconds` with keep-alive connections and return requests/s.

    `errors` counts socket errors and responses other than 2xx or 3xx.
    """
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost"):
        raise ValueError(f"Benchmarks only target loopback, got {url!r}.")
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    output = completed.stdout
    match = REQUESTS_PER_SECOND.search(output)
    if match is None:
        raise RuntimeError(f"Cannot read requests/s from wrk's output:\n{output}")
    errors = 0
    unexpected = UNEXPECTED.search(output)
    if unexpected:
        errors += int(unexpected.group(1))
    socket_errors = SOCKET_ERRORS.search(output)
    if socket_errors:
        errors += sum(int(value) for value in socket_errors.groups())
    return WrkResult(float(match.group(1)), errors, output)
