"""Announcing journal records (the log, then the listeners: metrics, Pod annotations), in order, and the
hand-off's quiet window.

In a hand-off the next step's `start` is the only thing on the critical path.  The finished step's `ack`
(which wakes its wrapper to write its post file and exit), the logs and the listeners wait for a quiet window
of HANDOFF_QUIET_SECONDS, while the next child is being exec'd: on a node with few cores, a wrapper exiting
or a listener running at that moment competes with the exec for the CPU (measured in bench/bench_entrypoint.py:
it made the hand-off's p99 1-2 ms longer).  Journal records are still written at once; only their
announcement waits, in order.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.journal import JournalRecord
from contracts.wire import Ack
from supervisor.logs import Log
from supervisor.serving import Connection
from supervisor.timers import Timers
from supervisor.timings import HANDOFF_QUIET_SECONDS

__all__ = ["Announcer", "Listener"]

Listener = Callable[[JournalRecord], None]
QUIET = "quiet"  # the quiet window's timer key


class Announcer:
    def __init__(self, log: Log, timers: Timers, clock: Callable[[], float],
                 quiet_seconds: float = HANDOFF_QUIET_SECONDS) -> None:
        self.log, self._timers, self._clock, self._quiet_seconds = log, timers, clock, quiet_seconds
        self.listeners: list[Listener] = []
        self._batch: list[JournalRecord] | None = None  # inside a hand-off: announced once the next step is released
        self._quiet: list[JournalRecord | Connection] | None = None  # in the quiet window: announce / ack at its end

    def announce(self, rec: JournalRecord) -> None:
        """Tell everyone now, or after the hand-off under way (and its quiet window)."""
        if self._batch is not None:
            self._batch.append(rec)
            return
        if self._quiet is not None:
            self._quiet.append(rec)
            return
        self._tell(rec)

    def _tell(self, rec: JournalRecord) -> None:
        self.log.info(rec["ev"], **{k: v for k, v in rec.items() if k not in ("ev", "results")})
        for listener in self.listeners:
            listener(rec)

    def begin_handoff(self, finished: JournalRecord) -> None:
        """A step finished: hold back its record, and the records of what the run does next."""
        self._batch = [finished]

    def end_handoff(self, conn: Connection) -> None:
        """Ack the finished step (`conn`) and announce the hand-off's records: at the end of a quiet window if
        the next step was just released, else now (after anything an earlier window still holds)."""
        batch, self._batch = self._batch or [], None
        items: list[JournalRecord | Connection] = [conn, *batch]
        if any(rec["ev"] == "released" for rec in batch):
            if self._quiet is None:
                self._quiet = []
                self._timers.arm(QUIET, self._clock() + self._quiet_seconds, self.end_quiet)
            self._quiet.extend(items)
            return
        self.end_quiet()
        self._deliver(items)

    def end_quiet(self) -> None:
        """Deliver what the quiet window held back (also on close: nothing held back is lost)."""
        self._timers.disarm(QUIET)
        items, self._quiet = self._quiet or [], None
        self._deliver(items)

    def _deliver(self, items: list[JournalRecord | Connection]) -> None:
        for item in items:
            if isinstance(item, Connection):
                item.send(Ack())
            else:
                self._tell(item)
