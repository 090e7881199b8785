"""The Runner's side effects, injected: the journal, the announcements, the timers, the verdict files, the
wrappers' connections and the clock.  `RunEffects` does what the state machine (runner.py) decides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.journal import JournalRecord
from contracts.wire import Ack, Message, Skip, Stop
from supervisor.announcing import Announcer
from supervisor.journaling import RecordSink
from supervisor.logs import Log
from contracts.plans import Plan
from supervisor.serving import Connection
from supervisor.states import RunState, StepState
from supervisor.timers import LoopTimers, Timers
from supervisor.timings import Timings
from supervisor.verdicts import Verdicts, VerdictSink

__all__ = ["RunEffects"]


class RunEffects:
    def __init__(self, plan: Plan, state: RunState, journal: RecordSink, log: Log, clock: Callable[[], float],
                 *, timers: Timers | None, verdicts: VerdictSink | None, timings: Timings) -> None:
        self.plan, self.state, self.journal, self.log, self.clock = plan, state, journal, log, clock
        self.timings = timings
        self.steps: dict[str, Connection] = {}  # the step wrappers connected now
        self.timers = timers if timers is not None else LoopTimers(clock)
        self.verdicts = verdicts if verdicts is not None else Verdicts(plan.channels_dir, log)
        self.announcer = Announcer(log, self.timers, clock, timings.handoff_quiet_seconds)
        self.listeners = self.announcer.listeners

    def record(self, ev: str, **fields: Any) -> JournalRecord:
        """Journal a change, then apply it."""
        rec: Any = {"ev": ev, "at": self.clock(), **fields}
        self.journal.append(rec)
        self.state.apply(rec)
        return rec  # type: ignore[no-any-return]

    def _note(self, ev: str, **fields: Any) -> JournalRecord:
        """Record a change, and announce it."""
        rec = self.record(ev, **fields)
        self.announcer.announce(rec)
        return rec

    def _send(self, name: str, message: Message) -> None:
        """To the step's wrapper, if it is connected."""
        conn = self.steps.get(name)
        if conn is not None:
            conn.send(message)

    def _last_word(self, name: str, message: Skip | Ack) -> None:
        """To a step that will not run: its wrapper hears it now if it is connected, and from the verdict file
        if it comes once the supervisor is gone."""
        self.verdicts.write("step", name, message)
        self._send(name, message)

    def _skip(self, step: StepState, reason: str, cancelled: bool) -> None:
        self._note("skipped", step=step.name, reason=reason, cancelled=cancelled)
        self._last_word(step.name, Skip(reason=reason, cancelled=cancelled))

    def _stop_step(self, step: StepState, reason: str) -> None:
        self._note("stopping", step=step.name, reason=reason)
        self._send(step.name, Stop(reason=reason, grace_seconds=self.timings.step_stop_grace))
