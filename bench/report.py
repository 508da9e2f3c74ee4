"""Targets, the printed table and the JSON record of a bench run."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .backends import ROOT

POLL_RATIO_MIN = 0.6
MOVE_FLOOR_RATIO_MAX = 1.3
GROWTH_RATIO_MAX = 1.2
LOAD_P99_MAX_MS = 250.0


@dataclass
class TargetCheck:
    pair: str
    target: str
    measured: float
    goal: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "MISS"


def check_targets(pair: str, result: dict[str, Any]) -> list[TargetCheck]:
    """Compare one pair's figures with the targets; skip parts that did not run."""
    checks = []
    if "polling" in result:
        ratio = result["polling"]["ratio"]
        checks.append(
            TargetCheck(
                pair,
                "304 poll req/s / bare endpoint req/s",
                ratio,
                f">= {POLL_RATIO_MIN}",
                ratio >= POLL_RATIO_MIN,
            )
        )
    if "moves" in result and "floor" in result:
        ratio = result["moves"]["all"]["p50_ms"] / result["floor"]["sum_p50_ms"]
        result["moves"]["floor_ratio"] = ratio
        checks.append(
            TargetCheck(
                pair,
                "move p50 / floor (sum of p50s)",
                ratio,
                f"<= {MOVE_FLOOR_RATIO_MAX}",
                ratio <= MOVE_FLOOR_RATIO_MAX,
            )
        )
    if "growth" in result:
        growth = result["growth"]
        sizes = growth["sizes"]
        chat = f"{sizes['chat_lines']['large']:,} / {sizes['chat_lines']['small']:,}"
        turns = f"{sizes['turn']['large']:,} / {sizes['turn']['small']:,}"
        for name, label in (
            ("chat_append", f"chat append p50, {chat} lines"),
            ("game_poll", f"game poll (304) p50, {chat} lines"),
            ("move", f"move p50, turn {turns}"),
        ):
            ratio = growth[name]["ratio"]
            checks.append(
                TargetCheck(
                    pair,
                    label,
                    ratio,
                    f"<= {GROWTH_RATIO_MAX}",
                    ratio <= GROWTH_RATIO_MAX,
                )
            )
    if "load" in result:
        load = result["load"]
        config = load["config"]
        overall = load["summary"]["all"]
        label = (
            f"load {config['phones']} phones / {config['games']} games, "
            f"think {config['think']:g} s"
        )
        checks.append(
            TargetCheck(
                pair,
                f"{label}: errors",
                overall["errors"],
                "= 0",
                overall["errors"] == 0,
            )
        )
        p99 = overall["p99_ms"]
        checks.append(
            TargetCheck(
                pair,
                f"{label}: p99 ms",
                p99,
                f"< {LOAD_P99_MAX_MS:g}",
                p99 is not None and p99 < LOAD_P99_MAX_MS,
            )
        )
    return checks


def format_pair(pair: str, result: dict[str, Any]) -> str:
    """Return the measurements of one pair as aligned text lines."""
    lines = [f"== {pair} =="]
    if "floor" in result:
        floor = result["floor"]
        for name, label in (
            ("lock", "lock acquire+release"),
            ("get_game", "get_game"),
            ("update_game", "update_game (conditional)"),
        ):
            lines.append(
                f"  floor  {label:<28} p50 {floor[name]['p50_ms']:8.3f} ms  "
                f"p99 {floor[name]['p99_ms']:8.3f} ms"
            )
        lines.append(f"  floor  {'sum of p50s':<28}     {floor['sum_p50_ms']:8.3f} ms")
    if "moves" in result:
        moves = result["moves"]
        for name, label in (
            ("all", "PUT move over HTTP"),
            ("not_resolving", "  leaving the turn open"),
            ("resolving", "  resolving the turn"),
        ):
            lines.append(
                f"  move   {label:<28} p50 {moves[name]['p50_ms']:8.3f} ms  "
                f"p99 {moves[name]['p99_ms']:8.3f} ms"
            )
    if "polling" in result:
        polling = result["polling"]
        lines.append(
            f"  poll   GET /bench/empty {polling['bare_rps']:8.0f} req/s   "
            f"GET game (304) {polling['poll_304_rps']:8.0f} req/s   "
            f"({polling['connections']} connections, wrk errors {polling['errors']})"
        )
        cpu = polling["server_cpu_us_per_request"]
        lines.append(
            f"  poll   gunicorn CPU per request: bare {cpu['bare']:6.0f} us   "
            f"304 poll {cpu['poll_304']:6.0f} us"
        )
    if "growth" in result:
        growth = result["growth"]
        for name in ("chat_append", "game_poll", "move"):
            row = growth[name]
            lines.append(
                f"  growth {name:<12} small p50 {row['small']['p50_ms']:7.3f} ms  "
                f"large p50 {row['large']['p50_ms']:7.3f} ms  ratio {row['ratio']:5.2f}"
            )
    if "load" in result:
        summary = result["load"]["summary"]
        for endpoint, row in summary.items():
            if not row["requests"]:
                continue
            lines.append(
                f"  load   {endpoint:<10} {row['per_second']:7.1f} req/s  "
                f"p50 {row['p50_ms']:7.1f}  p95 {row['p95_ms']:7.1f}  "
                f"p99 {row['p99_ms']:7.1f} ms  errors {row['errors']}"
            )
    return "\n".join(lines)


def format_targets(checks: list[TargetCheck]) -> str:
    header = f"{'pair':<20} {'target':<50} {'measured':>10} {'goal':>8}  result"
    lines = [header, "-" * len(header)]
    for check in checks:
        lines.append(
            f"{check.pair:<20} {check.target:<50} {_number(check.measured):>10} "
            f"{check.goal:>8}  {check.verdict}"
        )
    return "\n".join(lines)


def _number(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, int):
        return str(value)
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def machine() -> dict[str, Any]:
    """Return what the figures depend on: cores, memory, CPU model, load, commit."""
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1) if memory_kib else None,
        "cpu_model": cpu_model,
        "python": platform.python_version(),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain")),
    }


def _git(*args: str) -> str:
    try:
        completed = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
        )
    except OSError:
        return ""
    return completed.stdout.strip()


def write_results(
    path: Path, record: dict[str, Any], checks: list[TargetCheck]
) -> None:
    record = {**record, "targets": [asdict(c) | {"result": c.verdict} for c in checks]}
    path.write_text(json.dumps(_without_nan(record), indent=2) + "\n", encoding="utf-8")


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value
