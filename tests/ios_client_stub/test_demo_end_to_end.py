"""The stub's demo plays both games to the end against a live server."""

from __future__ import annotations

import subprocess
import sys

from tests.live import ROOT


def test_demo_plays_to_the_end(server):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ios_client_stub",
            "demo",
            "--server",
            server.url,
            "--seed",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "rps" in result.stdout
    assert "lightcycles" in result.stdout
