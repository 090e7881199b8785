"""The run's logic: release steps in order, skip after a failure, holds, timeouts, cancellation.

`Runner` is driven by the control server (`on_message`, `on_closed`), by its sidecars (`attending`:
ready, failed) and by timers.  Every decision is a journal record written before the wrappers hear
about it, then applied to `RunState`; `_advance` then looks at the state and does the next thing, so a
restarted supervisor that replayed its journal simply carries on.

In a hand-off the next step's `start` is the only thing on the critical path.  The finished step's `ack`
(which wakes its wrapper to write its post file and exit), the logs and the listeners (metrics, Pod
annotations) wait for a quiet window of HANDOFF_QUIET_SECONDS, while the next child is being exec'd: on a
node with few cores, a wrapper exiting or a listener running at that moment competes with the exec for the
CPU (measured in bench/bench_entrypoint.py: it made the hand-off's p99 1-2 ms longer).  Journal records
are still written at once; only their announcement waits, in order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from contracts.wire import (
    Ack, Ctl, Finished, Hello, Hold, Message, Reply, Skip, Start, Started, Stop,
)
from supervisor.attending import Sidecars
from supervisor.journaling import Journal
from supervisor.logs import Log
from contracts.plans import Plan
from supervisor.serving import Connection
from supervisor.states import Record, RunState, StepState
from supervisor.verdicts import Verdicts

STEP_STOP_GRACE = 30.0
# A released or running step whose wrapper hung up and did not come back (a wrapper only hangs up by dying:
# its container was OOM-killed, evicted, deleted) fails after this long, unless its post file says how it
# ended; without this the run would wait for the task timeout.  After a supervisor restart the running
# steps' wrappers get longer to reconnect (they retry every second).
LOST_SECONDS = 5.0
LOST_AFTER_RESTART_SECONDS = 15.0
HANDOFF_QUIET_SECONDS = 0.005  # after a hand-off's `start`: the ack and announcements wait this long


class Runner:
    def __init__(self, plan: Plan, state: RunState, journal: Journal, log: Log,
                 clock: Callable[[], float] = time.time) -> None:
        self.plan, self.state, self.journal, self.log, self.clock = plan, state, journal, log, clock
        self.steps: dict[str, Connection] = {}
        self.verdicts = Verdicts(plan.run_dir, log)
        self.sidecars = Sidecars(plan, state, self._note, self.cancel, self._advance, self.verdicts)
        self.done = asyncio.Event()  # the run has an outcome
        self.listeners: list[Callable[[Record], None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._reported: float | None = None  # perf_counter when the last step's exit was reported
        self._batch: list[Record] | None = None  # inside a hand-off: announced once the next step is released
        self._quiet: list[Record | Connection] | None = None  # in the quiet window: announce / ack at its end
        self._step_plans = {s.name: s for s in plan.steps}

    # --- recording ---------------------------------------------------------------------------

    def record(self, ev: str, **fields: Any) -> Record:
        """Journal a change, then apply it."""
        rec: Record = {"ev": ev, "at": self.clock(), **fields}
        self.journal.append(rec)
        self.state.apply(rec)
        return rec

    def _announce(self, rec: Record) -> None:
        if self._batch is not None:
            self._batch.append(rec)
            return
        if self._quiet is not None:
            self._quiet.append(rec)
            return
        self._tell(rec)

    def _tell(self, rec: Record) -> None:
        self.log.info(rec["ev"], **{k: v for k, v in rec.items() if k not in ("ev", "results")})
        for listener in self.listeners:
            listener(rec)

    def _note(self, ev: str, **fields: Any) -> Record:
        rec = self.record(ev, **fields)
        self._announce(rec)
        return rec

    # --- starting and resuming ------------------------------------------------------------------

    def begin(self) -> None:
        """Start a new run or resume a replayed one: re-arm timers, then carry on."""
        if self.state.started_at is None:
            self._note("run")
        if self.state.finished:
            self.done.set()
            return
        started = self.state.started_at or self.clock()
        if self.plan.timeout_seconds is not None:
            self._arm("task", started + self.plan.timeout_seconds, self.cancel,
                      "TimeoutExceeded", f"task timeout of {self.plan.timeout_seconds}s exceeded")
        for step in self.state.steps:
            if step.phase == "running" and step.started_at is not None:
                self._arm_step_timeout(step)
                self._arm(f"lost:{step.name}", self.clock() + LOST_AFTER_RESTART_SECONDS, self._step_lost,
                          step.name, LOST_AFTER_RESTART_SECONDS)
            if step.phase == "held" and step.held_at is not None:
                self._arm_hold_timeout(step)
        self._advance()

    def _after_handoff(self, items: list[Record | Connection], quiet: bool) -> None:
        """Ack the finished step and announce the hand-off's records: at the end of a quiet window if the
        next step was just released, else now (after anything an earlier window still holds)."""
        if quiet:
            if self._quiet is None:
                self._quiet = []
                self._timers["quiet"] = asyncio.get_running_loop().call_later(HANDOFF_QUIET_SECONDS, self._end_quiet)
            self._quiet.extend(items)
            return
        self._end_quiet()
        self._deliver(items)

    def _end_quiet(self) -> None:
        self._disarm("quiet")
        items, self._quiet = self._quiet or [], None
        self._deliver(items)

    def _deliver(self, items: list[Record | Connection]) -> None:
        for item in items:
            if isinstance(item, Connection):
                item.send(Ack())
            else:
                self._tell(item)

    def close(self) -> None:
        self._end_quiet()  # nothing held back is lost: acks go out, records are announced
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.sidecars.close()

    def _arm(self, key: str, deadline: float, fn: Callable[..., object], *args: Any) -> None:
        self._disarm(key)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(max(0.0, deadline - self.clock()), fn, *args)

    def _disarm(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _arm_step_timeout(self, step: StepState) -> None:
        limit = self._step_plans[step.name].timeout_seconds
        if limit is not None and step.started_at is not None:
            self._arm(f"step:{step.name}", step.started_at + limit, self._step_timed_out, step.name)

    def _arm_hold_timeout(self, step: StepState) -> None:
        assert step.held_at is not None
        self._arm(f"hold:{step.name}", step.held_at + self.plan.hold_timeout_seconds,
                  self._end_hold, step.name, "timeout")

    # --- the state machine ----------------------------------------------------------------------

    def _advance(self) -> None:
        st = self.state
        if st.finished:
            return
        if st.cancel_reason:
            self._wind_down()
        elif st.sidecars_ready:
            for step in st.steps:
                if step.phase == "done":
                    continue
                if step.phase != "pending":
                    return  # held, released or running: wait for it
                if st.failed:
                    self._skip(step, "an earlier step failed", cancelled=False)
                elif step.breakpoint_before and not step.breakpoint_passed:
                    self._hold(step, "beforeStep")
                    return
                else:
                    self._release(step)
                    return
        if all(s.phase == "done" for s in st.steps):
            self._finish_run()

    def _wind_down(self) -> None:
        for step in self.state.steps:
            if step.phase == "released" and step.started_at is None and step.name not in self.steps:
                # its wrapper never heard the start: it will hear `skip` when it says hello
                self._skip(step, self.state.cancel_message or self.state.cancel_reason, cancelled=True)
            elif step.phase in ("released", "running") and not step.stopping:
                self._stop_step(step, self.state.cancel_reason)
            elif step.phase == "held":
                self._end_hold(step.name, "cancel", advance=False)
            elif step.phase == "pending":
                self._skip(step, self.state.cancel_message or self.state.cancel_reason, cancelled=True)

    def _release(self, step: StepState) -> None:
        handoff = None if self._reported is None else time.perf_counter() - self._reported
        rec = self.record("released", step=step.name, handoff=handoff)
        conn = self.steps.get(step.name)
        if conn is not None:
            conn.send(Start())
        self._announce(rec)

    def _skip(self, step: StepState, reason: str, cancelled: bool) -> None:
        self._note("skipped", step=step.name, reason=reason, cancelled=cancelled)
        self._last_word(step.name, Skip(reason=reason, cancelled=cancelled))

    def _last_word(self, name: str, message: Skip | Ack) -> None:
        """To a step that will not run: its wrapper hears it now if it is connected, and from the verdict file
        if it comes once the supervisor is gone."""
        self.verdicts.write("step", name, message)
        conn = self.steps.get(name)
        if conn is not None:
            conn.send(message)

    def _hold(self, step: StepState, reason: str, report: dict[str, Any] | None = None) -> None:
        self._reported = None  # a person decides what comes next: the release after it is no hand-off
        self._note("held", step=step.name, reason=reason, report=report or {})
        self._arm_hold_timeout(step)
        conn = self.steps.get(step.name)
        if conn is not None:
            conn.send(Hold(reason=reason))

    def _stop_step(self, step: StepState, reason: str) -> None:
        self._note("stopping", step=step.name, reason=reason)
        conn = self.steps.get(step.name)
        if conn is not None:
            conn.send(Stop(reason=reason, grace_seconds=STEP_STOP_GRACE))

    def _step_timed_out(self, name: str) -> None:
        step = self.state.step(name)
        if step is not None and step.phase in ("released", "running") and not step.stopping:
            self._stop_step(step, "TimeoutExceeded")

    def _finish_run(self) -> None:
        outcome, reason = self.state.task_outcome()
        self._note("run_finished", outcome=outcome, reason=reason, message=self.state.cancel_message)
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

    def _end_hold(self, name: str, decision: str, advance: bool = True) -> None:
        step = self.state.step(name)
        if step is None or step.phase != "held":
            return
        self._disarm(f"hold:{name}")
        before, report = step.hold_reason == "beforeStep", step.failure
        self._note("unheld", step=name, decision=decision)
        conn = self.steps.get(name)
        if before and decision == "cancel":
            self._skip(step, self.state.cancel_message or "cancelled at a breakpoint", cancelled=True)
        elif before and decision != "continue":
            why = "hold timed out" if decision == "timeout" else "failed at a breakpoint"
            self._note("finished", step=name, exit_code=None, reason="Error", outcome="failed",
                       started_at=None, finished_at=self.clock(), results={}, message=why)
            self._last_word(name, Ack(verdict="failed"))  # the wrapper records it failed, not run
        elif not before:
            ok = decision == "continue"
            self._note("finished", step=name, exit_code=report.get("exit_code"),
                       reason="Completed" if ok else report.get("reason", "Error"),
                       outcome="succeeded" if ok else "failed", started_at=report.get("started_at"),
                       finished_at=report.get("finished_at"), results=report.get("results", {}),
                       message=report.get("message", ""))
            self._reported = time.perf_counter()
            if conn is not None:
                conn.send(Ack(verdict="succeeded" if ok else "failed"))
        if advance:
            self._advance()

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

    def on_closed(self, conn: Connection) -> None:
        if conn.kind == "step" and self.steps.get(conn.name) is conn:
            del self.steps[conn.name]
            step = self.state.step(conn.name)
            if step is not None and step.phase in ("released", "running"):
                self._arm(f"lost:{step.name}", self.clock() + LOST_SECONDS, self._step_lost, step.name, LOST_SECONDS)
        elif conn.kind == "sidecar":
            self.sidecars.on_closed(conn)

    def _on_step_message(self, conn: Connection, message: Message) -> None:
        step = self.state.step(conn.name)
        assert step is not None
        if isinstance(message, Hello):
            self.steps[step.name] = conn
            self._disarm(f"lost:{step.name}")
            if step.announced_at is None:
                self._note("announced", step=step.name)  # an observation, not a decision
            self._answer(step, conn)
            self._advance()
        elif isinstance(message, Started):
            if step.phase in ("pending", "released"):
                self._note("started", step=step.name, at=message.started_at)
                self._arm_step_timeout(step)
        elif isinstance(message, Finished):
            self._on_finished(step, conn, message)

    def _answer(self, step: StepState, conn: Connection) -> None:
        """Answer a (possibly repeated) hello from the state: never start a step twice."""
        if step.phase == "done":
            if step.outcome == "skipped":
                conn.send(Skip(reason=step.message, cancelled=bool(self.state.cancel_reason)))
            elif step.started_at is None and step.outcome != "succeeded":  # failed before it ran (at a
                conn.send(Ack(verdict="failed"))  # breakpoint, or lost on the way): it must not run now
            else:
                conn.send(Ack())
        elif step.phase == "held":
            conn.send(Hold(reason=step.hold_reason))
        elif step.phase in ("released", "running"):
            conn.send(Start())
            if step.stopping:
                conn.send(Stop(reason=step.stopping, grace_seconds=STEP_STOP_GRACE))

    def _on_finished(self, step: StepState, conn: Connection, msg: Finished) -> None:
        if step.phase == "done" or step.phase == "held":
            conn.send(Ack() if step.phase == "done" else Hold(reason=step.hold_reason))
            return
        self._reported = time.perf_counter()
        self._disarm(f"step:{step.name}")
        outcome, reason = self._outcome(step, msg.reason, msg.exit_code)
        report = {"exit_code": msg.exit_code, "reason": reason, "started_at": msg.started_at,
                  "finished_at": msg.finished_at, "results": msg.results, "message": msg.message}
        # a step that timed out is held too (Tekton's entrypoint holds on any error of the step, its deadline
        # included, as doll's wrapper does in file mode); the task's own timeout cancels: no hold then
        if (outcome in ("failed", "timed_out") and self.plan.breakpoint_on_failure and step.on_error != "continue"
                and not self.state.cancel_reason):
            self._hold(step, "onFailure", report)
            return
        self._batch = [self.record("finished", step=step.name, outcome=outcome, **report)]
        try:
            self._advance()  # the next step's Start first: the hand-off's critical path
        finally:
            batch, self._batch = self._batch, None
            self._after_handoff([conn, *batch], quiet=any(rec["ev"] == "released" for rec in batch))

    def _outcome(self, step: StepState, reason: str, exit_code: int | None) -> tuple[str, str]:
        if step.stopping == "TimeoutExceeded" or reason == "TimeoutExceeded":
            return "timed_out", "TimeoutExceeded"
        if step.stopping or reason == "Cancelled":
            return ("cancelled", "Cancelled") if self.state.cancel_reason else ("failed", "Cancelled")
        if reason == "Skipped":
            return "skipped", "Skipped"
        if exit_code == 0:
            return "succeeded", "Completed"
        return "failed", "Error"

    def _step_lost(self, name: str, waited: float) -> None:
        """A step's wrapper hung up and never came back: how it ended is in its post file, or it failed."""
        step = self.state.step(name)
        if step is None or step.phase not in ("released", "running") or name in self.steps:
            return
        from supervisor.reconciling import read_post  # reconciling imports this module
        post = read_post(self.plan.steps_dir, name)
        if post is not None:
            self.finished_elsewhere(name, post)
            return
        self.finished_elsewhere(name, {"reason": "Error", "exit_code": None, "started_at": step.started_at,
                                       "message": f"the step's wrapper went away and did not come back within "
                                                  f"{waited:g}s (was its container killed?)"}, source="lost")

    def finished_elsewhere(self, name: str, post: dict[str, Any], source: str = "files") -> None:
        """A step that ended while we could not hear it (its wrapper used the file chain)."""
        step = self.state.step(name)
        if step is None or step.phase in ("done", "held"):
            return
        self._disarm(f"step:{name}")
        self._reported = None
        outcome, reason = self._outcome(step, str(post.get("reason", "")), post.get("exit_code"))
        self._note("finished", step=name, outcome=outcome, reason=reason, exit_code=post.get("exit_code"),
                   started_at=post.get("started_at"), finished_at=post.get("finished_at") or self.clock(),
                   results=post.get("results") or {}, message=str(post.get("message", "")), source=source)
        self._advance()

    # --- doll ctl and entrypoint debug --------------------------------------------------------------

    def control(self, ctl: Ctl) -> Reply:
        action = "fail" if ctl.action == "fail-continue" else ctl.action
        if action == "status":
            return Reply(ok=True, status=self.state.to_status())
        if action == "cancel":
            if self.cancel("Cancelled", "cancelled through doll ctl"):
                return Reply(ok=True, message="cancelling the run")
            return Reply(ok=False, message=f"the run is already {self.state.outcome or 'winding down'}")
        if action in ("continue", "fail"):
            step = self.state.step(ctl.step) if ctl.step else self.state.current_hold()
            if step is None:
                return Reply(ok=False, message=f"step {ctl.step!r} is not in the plan" if ctl.step
                             else "no step is held")
            if step.phase != "held":
                return Reply(ok=False, message=f"step {step.name!r} is not held (it is {step.phase})")
            self._end_hold(step.name, action)
            return Reply(ok=True, message=f"step {step.name!r}: {action}")
        return Reply(ok=False, message=f"action: unknown {ctl.action!r}")
