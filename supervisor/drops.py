"""Bounds on the control sockets' peers, and their refusals counted and logged without flooding the log.

`Drops` counts every dropped connection or message by why (the `doll_control_dropped_total` metric) and logs
the first of each why, then at most one line per why every `LOG_EVERY_SECONDS` saying how many were not
logged: a peer that opens a thousand bad connections costs a few log lines, not a thousand.
`Limits` bounds the connections open at once, in all (below the supervisor's open-file limit, so accepting
never fails for lack of descriptors because of peers) and per listener (one container's channel cannot take
the others' share).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

from supervisor.logs import Log

__all__ = ["ADMIN_LIMIT", "CHANNEL_LIMIT", "Drops", "LOG_EVERY_SECONDS", "Limits", "RESERVED_FILES",
           "raise_file_limit"]

LOG_EVERY_SECONDS = 10.0
CHANNEL_LIMIT = 4  # a container's channel: its wrapper, a reconnect overlapping the old connection's end,
#                    `entrypoint debug`, one spare
ADMIN_LIMIT = 64  # the admin socket (only the supervisor's container reaches it)
RESERVED_FILES = 128  # descriptors kept for the journal, verdicts, HTTP, probes, post files


class Drops:
    def __init__(self, log: Log, clock: Callable[[], float] = time.monotonic) -> None:
        self.counts: dict[str, int] = {}  # why -> count, for the metrics
        self._log, self._clock = log, clock
        self._logged: dict[str, float] = {}  # why -> when last logged
        self._unlogged: dict[str, int] = {}  # why -> dropped since, not logged

    def drop(self, why: str, detail: str, **fields: object) -> None:
        self.counts[why] = self.counts.get(why, 0) + 1
        now, last = self._clock(), self._logged.get(why)
        if last is not None and now - last < LOG_EVERY_SECONDS:
            self._unlogged[why] = self._unlogged.get(why, 0) + 1
            return
        self._logged[why] = now
        more = self._unlogged.pop(why, 0)
        extra = {"not_logged_since": more} if more else {}
        self._log.warning("connection_dropped", why=why, detail=detail, **fields, **extra)


class Limits:
    """Connections open now, in all; each listener counts its own against `per_listener`."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.open = 0

    def full(self) -> bool:
        return self.open >= self.total


def raise_file_limit() -> int:
    """Raise the soft open-file limit to the hard one (a container's default soft limit is often 1024); return
    how many connections all listeners together may hold."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    usable = soft if soft != resource.RLIM_INFINITY else 1 << 16
    return max(16, usable - RESERVED_FILES)
