"""The run's state machine: release steps in order, skip after a failure, holds, timeouts, cancellation.

`Runner` is driven by the control server (`on_message`, `on_closed`), by its sidecars (`sidecar_tracking`:
ready, failed) and by its timers.  Every decision is a journal record written before the wrappers hear
about it, then applied to `RunState`; `_advance` then looks at the state and does the next thing, so a
restarted supervisor that replayed its journal simply carries on.  Its side effects are injected: the
journal, the timers (`timers.Timers`), the verdict files, the clocks and the `Timings`; the records are
announced by an `announcing.Announcer`, which holds them back during a hand-off's quiet window.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from contracts.journal import StepReport
from contracts.wire import Ack, Ctl, Finished, Hello, Hold, Message, Reply, Skip, Start, Started
from supervisor.control_requests import answer
from supervisor.hello_replies import hello_replies
from supervisor.journaling import RecordSink
from supervisor.logs import Log
from contracts.plans import Plan
from contracts.records import read_post, report_of
from supervisor.serving import Connection
from supervisor.sidecar_tracking import Sidecars
from supervisor.states import RunState, StepState
from contracts.outcome import judge
from supervisor.task_refs import RefLookup
from supervisor.task_running import TaskEffects
from supervisor.task_states import TaskState
from supervisor.pipeline_ending import pipeline_outcome, pipeline_results
from supervisor.timers import Timers
from supervisor.timings import Timings
from supervisor.verdicts import VerdictSink

__all__ = ["Runner"]


class Runner(TaskEffects):
    def __init__(self, plan: Plan, state: RunState, journal: RecordSink, log: Log,
                 clock: Callable[[], float] = time.time, *, timers: Timers | None = None,
                 verdicts: VerdictSink | None = None, timings: Timings = Timings(),
                 perf_counter: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(plan, state, journal, log, clock, timers=timers, verdicts=verdicts, timings=timings)
        self._perf_counter = perf_counter
        self.sidecars = Sidecars(plan, state, self._note, self.cancel, self._advance, self.verdicts,
                                 lost_grace=timings.sidecar_lost_grace)
        self.done = asyncio.Event()  # the run has an outcome
        self._reported: float | None = None  # perf_counter when the last step's exit was reported
        self._step_plans = {s.name: s for s in plan.steps}
        self.refs = RefLookup(state, plan)  # its pattern built once: every hand-off of a pipeline asks it
        self.dropped: set[str] = set()  # steps whose wrapper hung up on us while they ran: no post file for them

    # --- starting, resuming and closing ---------------------------------------------------------

    def begin(self) -> None:
        """Start a new run or resume a replayed one: re-arm timers, then carry on."""
        if self.state.started_at is None:
            self._note("run")
        if self.state.finished:
            self.done.set()
            return
        self._arm_run_timeouts()
        lost = self.timings.lost_after_restart_seconds
        for step in self.state.steps:
            if step.phase == "running" and step.started_at is not None:
                self._arm_step_timeout(step)
                self.timers.arm(f"lost:{step.name}", self.clock() + lost, self._step_lost, step.name, lost)
            if step.phase == "held" and step.held_at is not None:
                self._arm_hold_timeout(step)
        self._advance()

    def close(self) -> None:
        self.announcer.end_quiet()  # nothing held back is lost: acks go out, records are announced
        self.timers.close()
        self.sidecars.close()

    # --- the state machine ----------------------------------------------------------------------

    def _advance(self) -> None:
        st = self.state
        if st.finished:
            return
        if st.cancel_reason:
            self._wind_down()
            self._end_tasks()
        elif st.sidecars_ready:
            self._schedule()
        if all(s.phase == "done" for s in st.steps) and (all(t.phase == "done" for t in st.tasks)
                                                          or not st.is_pipeline):
            self._finish_run()

    def _advance_task(self, task: TaskState) -> None:
        """The task's steps, in order: the next one is held at its breakpoint or released, once the one before
        it is done; after a failure (or while the task is stopped) the rest are skipped."""
        for step in self.state.steps_of(task):
            if step.phase == "done":
                continue
            if step.phase != "pending":
                return  # held, released or running: wait for it
            if self.task_failed(task):
                self._skip(step, "an earlier step failed", cancelled=False)
            elif task.stopping:
                self._skip(step, task.stopping_message or task.stopping, cancelled=False)
            elif step.breakpoint_before and not step.breakpoint_passed:
                self._hold(step, "beforeStep")
                return
            else:
                self._release(step)
                return

    def _wind_down(self) -> None:
        why = self.state.cancel_message or self.state.cancel_reason
        for step in self.state.steps:
            if step.phase == "released" and step.started_at is None and step.name not in self.steps:
                self._skip(step, why, cancelled=True)  # its wrapper never heard the start: it hears skip
            elif step.phase in ("released", "running") and not step.stopping:
                self._stop_step(step, self.state.cancel_reason)
            elif step.phase == "held":
                self.end_hold(step.name, "cancel", advance=False)
            elif step.phase == "pending":
                self._skip(step, why, cancelled=True)

    def _release(self, step: StepState) -> None:
        handoff = None if self._reported is None else self._perf_counter() - self._reported
        rec = self.record("released", step=step.name, handoff=handoff)
        self._send(step.name, Start())
        self.announcer.announce(rec)

    def _hold(self, step: StepState, reason: str, report: StepReport | None = None) -> None:
        self._reported = None  # a person decides what comes next: the release after it is no hand-off
        self._note("held", step=step.name, reason=reason, report=report or {})
        self._arm_hold_timeout(step)
        self._send(step.name, Hold(reason=reason))

    def _finish_run(self) -> None:
        if self.state.is_pipeline:
            outcome, reason, message = pipeline_outcome(self.state, self.plan)
            results, notes = pipeline_results(self.plan, self.refs)
            self._note("run_finished", outcome=outcome, reason=reason, message="; ".join([message, *notes]),
                       pipeline_results=results)
        else:
            outcome, reason = self.state.task_outcome()
            self._note("run_finished", outcome=outcome, reason=reason, message=self.state.failure_message())
        self.close()
        if self.plan.layout == "classic":  # native sidecars are stopped by the kubelet once the steps end;
            self.sidecars.stop_all()       # one stopped earlier would be restarted (restartPolicy: Always)
        self.done.set()

    def cancel(self, reason: str, message: str = "") -> bool:
        if self.state.finished or self.state.cancel_reason:
            return False
        self._note("cancel", reason=reason, message=message)
        self._advance()
        return True

    def end_hold(self, name: str, decision: str, advance: bool = True) -> None:
        """A held step goes on: decision is continue | fail | timeout | cancel."""
        step = self.state.step(name)
        if step is None or step.phase != "held":
            return
        self.timers.disarm(f"hold:{name}")
        before, report = step.hold_reason == "beforeStep", step.failure
        self._note("unheld", step=name, decision=decision)
        if before and decision == "cancel":
            self._skip(step, self.state.cancel_message or "cancelled at a breakpoint", cancelled=True)
        elif before and decision != "continue":
            why = "hold timed out" if decision == "timeout" else "failed at a breakpoint"
            self._note("finished", step=name, exit_code=None, reason="Error", outcome="failed",
                       started_at=None, finished_at=self.clock(), results={}, message=why)
            self._last_word(name, Ack(verdict="failed"))  # the wrapper records it failed, not run
        elif not before:
            self._end_failure_hold(name, report, ok=decision == "continue")
        if advance:
            self._advance()

    def _end_failure_hold(self, name: str, report: StepReport, ok: bool) -> None:
        """A step held onFailure ends: as it failed, or (continue) as if it had succeeded."""
        self._note("finished", step=name, exit_code=report.get("exit_code"),
                   reason="Completed" if ok else report.get("reason", "Error"),
                   outcome="succeeded" if ok else "failed", started_at=report.get("started_at"),
                   finished_at=report.get("finished_at"), results=report.get("results", {}),
                   message=report.get("message", ""))
        self._reported = self._perf_counter()
        self._send(name, Ack(verdict="succeeded" if ok else "failed"))

    # --- messages from the control socket -------------------------------------------------------

    def knows(self, hello: Hello) -> bool:
        if hello.kind == "step":
            return hello.name in self._step_plans
        if hello.kind == "sidecar":
            return self.sidecars.knows(hello.name)
        return True

    def on_message(self, conn: Connection, message: Message) -> None:
        if isinstance(message, Ctl):
            conn.send(self.control(message))
        elif conn.kind == "step":
            self._on_step_message(conn, message)
        elif conn.kind == "sidecar":
            self.sidecars.on_message(conn, message)

    def control(self, ctl: Ctl) -> Reply:
        """doll ctl's request, answered (control_requests.py)."""
        return answer(self, ctl)

    def on_closed(self, conn: Connection) -> None:
        if conn.kind == "step" and self.steps.get(conn.name) is conn:
            del self.steps[conn.name]
            step = self.state.step(conn.name)
            if step is not None and step.phase in ("released", "running"):
                self.dropped.add(step.name)  # its end comes from its wrapper (which reconnects), or it is lost
                lost = self.timings.lost_seconds
                self.timers.arm(f"lost:{step.name}", self.clock() + lost, self._step_lost, step.name, lost)
        elif conn.kind == "sidecar":
            self.sidecars.on_closed(conn)

    def _on_step_message(self, conn: Connection, message: Message) -> None:
        step = self.state.step(conn.name)
        assert step is not None
        if isinstance(message, Hello):
            self.steps[step.name] = conn
            self.timers.disarm(f"lost:{step.name}")
            if step.announced_at is None:
                self._note("announced", step=step.name)  # an observation, not a decision
            for reply in hello_replies(step, bool(self.state.cancel_reason), self.timings.step_stop_grace):
                conn.send(reply)
            self._advance()
        elif isinstance(message, Started):
            if step.phase in ("pending", "released"):
                self._note("started", step=step.name, at=message.started_at)
                self._arm_step_timeout(step)
        elif isinstance(message, Finished):
            self._on_finished(step, conn, message)

    def _on_finished(self, step: StepState, conn: Connection, msg: Finished) -> None:
        if step.phase == "done" or step.phase == "held":
            conn.send(Ack() if step.phase == "done" else Hold(reason=step.hold_reason))
            return
        self._reported = self._perf_counter()
        self.timers.disarm(f"step:{step.name}")
        judged = judge(msg.reason, msg.exit_code, step.on_error, step.stopping, bool(self.state.cancel_reason))
        outcome = judged.outcome
        report = StepReport(exit_code=msg.exit_code, reason=judged.reason, started_at=msg.started_at,
                            finished_at=msg.finished_at, results=msg.results, message=msg.message)
        # a step that timed out is held too (Tekton's entrypoint holds on any error of the step, its deadline
        # and onError: continue included, as doll's wrapper does in file mode); the task's timeout: no hold
        if judged.breaks and self.plan.breakpoint_on_failure and not self.state.cancel_reason:
            self._hold(step, "onFailure", report)
            return
        self.announcer.begin_handoff(self.record("finished", step=step.name, outcome=outcome, **report))
        try:
            self._advance()  # the next step's Start first: the hand-off's critical path
        finally:
            self.announcer.end_handoff(conn)

    def _step_lost(self, name: str, waited: float) -> None:
        """A step's wrapper hung up and never came back: how it ended is in its post file, or it failed."""
        step = self.state.step(name)
        if step is None or step.phase not in ("released", "running") or name in self.steps:
            return
        # a step can write its own post file while it runs: only one nobody heard from since is believed
        post = None if name in self.dropped else read_post(self.plan.steps_dir, name)
        if post is not None:
            self.finished_elsewhere(name, report_of(post))
            return
        self.finished_elsewhere(name, StepReport(reason="Error", exit_code=None, started_at=step.started_at,
                                                 message=f"the step's wrapper went away and did not come back "
                                                         f"within {waited:g}s (was its container killed?)"),
                                source="lost")

    def finished_elsewhere(self, name: str, post: StepReport, source: str = "files") -> None:
        """A step that ended while we could not hear it (its wrapper used the file chain)."""
        step = self.state.step(name)
        if step is None or step.phase in ("done", "held"):
            return
        self.timers.disarm(f"step:{name}")
        self._reported = None
        on_error = "stopAndFail" if source == "lost" else step.on_error  # a killed container is no exit it chose
        judged = judge(str(post.get("reason", "")), post.get("exit_code"), on_error, step.stopping,
                       bool(self.state.cancel_reason))
        self._note("finished", step=name, outcome=judged.outcome, reason=judged.reason,
                   exit_code=post.get("exit_code"),
                   started_at=post.get("started_at"), finished_at=post.get("finished_at") or self.clock(),
                   results=post.get("results") or {}, message=str(post.get("message", "")), source=source)
        self._advance()

