"""CPU time used by processes, read from /proc (Linux)."""

from __future__ import annotations

import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """Return the user plus system CPU seconds used so far by `pids`.

    A process that has exited counts as 0, so take the pids once and read
    them before and after the work being measured.
    """
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                # Fields after the command name, which may contain spaces;
                # utime and stime are fields 14 and 15 of the whole line.
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS
