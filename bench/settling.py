"""Waiting until a set of processes has finished starting and sits idle, before measuring anything.

In a Pod every step container starts with the Pod, so by the time steps hand off to each other the later
steps' wrappers are asleep, waiting.  A benchmark that starts wrappers while it measures hand-offs would
measure their start-up (tens of milliseconds of CPU each, on a 2-core machine) instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable


def _cpu_ticks(pid: int) -> int | None:
    """utime + stime of a live, sleeping process; None if it is running or gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if fields[0] not in ("S", "D", "I"):
        return None
    return int(fields[11]) + int(fields[12])


def wait_until_idle(pids: Iterable[int], quiet_seconds: float = 0.3, timeout: float = 120.0) -> None:
    """Return once every process is asleep and none used CPU for `quiet_seconds`; raise on timeout."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    last: list[int | None] = []
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        ticks = [_cpu_ticks(p) for p in pids]
        if None in ticks or ticks != last:
            last, quiet_since = ticks, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{len(pids)} processes did not settle within {timeout:g}s")
