"""The Runner's pipeline-task half: start, skip, fail, stop and end tasks, as scheduling.py decides.

A task starts with its ref values written into each of its steps' channels (before its first step is
released), a `task_started` record and its own timeout armed; it ends, once all its steps are done, with a
`task_finished` record (task_states.ending).  timeouts.tasks and timeouts.finally stop the running tasks of
their scope (`task_stopping`) and skip the pending ones (scheduling.py).  A TaskRun's one task has no
records: its steps simply go in order (Runner._advance_task).
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from contracts.layout import value_path
from contracts.outcome import fails_run
from contracts.plans import StepPlan
from supervisor.run_effects import RunEffects
from supervisor.scheduling import Decision, decisions
from supervisor.task_refs import RefLookup
from supervisor.states import StepState
from supervisor.task_states import TaskState, ending

__all__ = ["TaskEffects", "write_value"]


def write_value(path: str, text: str) -> None:
    """`text` at `path`, whole or not at all (a temporary file renamed over it), readable by the step (0644)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".value-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class TaskEffects(RunEffects):
    """Tasks, and the deadlines of steps and holds: armed here, acted on by the Runner."""

    _step_plans: dict[str, StepPlan]  # the Runner's: each step's plan by name
    refs: RefLookup  # the Runner's: the values of the refs between tasks, in the run's state

    def _advance_task(self, task: TaskState) -> None:
        raise NotImplementedError  # the Runner's: the task's steps, in order

    def task_failed(self, task: TaskState) -> bool:
        """A step of the task failed it (not onError: continue): its later steps are skipped."""
        return any(s.phase == "done" and fails_run(s.outcome, s.on_error, s.reason) for s in self.state.steps_of(task))

    def _schedule(self) -> None:
        """Start or skip the tasks whose turn came, move each running task's steps, end the tasks that are done;
        again until nothing changes (a task that ends may be the last one another waited for)."""
        while True:
            moved = False
            for decision in decisions(self.state, self.refs):
                self._carry_out(decision)
                moved = True
            for task in self.state.tasks:
                if task.phase == "running":
                    self._advance_task(task)
                    if self.state.is_pipeline and all(s.phase == "done" for s in self.state.steps_of(task)):
                        self._end_task(task)
                        moved = True
            if not moved:
                return

    def _carry_out(self, d: Decision) -> None:
        task = self.state.task(d.task)
        assert task is not None
        if d.action == "skip":
            self._note("task_skipped", task=task.name, reason=d.reason, message=d.message)
            self._skip_steps(task, f"task skipped ({d.reason}): {d.message}", cancelled=False)
        elif d.action == "fail":
            self._note("task_finished", task=task.name, outcome="Failed", reason=d.reason, message=d.message)
            self._skip_steps(task, f"task failed ({d.reason}): {d.message}", cancelled=False)
        else:
            self._start_task(task, d.values)

    def _start_task(self, task: TaskState, values: dict[str, str]) -> None:
        if self.plan.channels_dir:
            for step in task.steps:
                for ref, text in values.items():
                    write_value(value_path(self.plan.channels_dir, step, ref), text)
        first_finally = task.is_finally and self.state.finally_started_at is None
        self._note("task_started", task=task.name)
        self._arm_task_timeouts(task, first_finally)

    def _arm_run_timeouts(self) -> None:
        """The run's (a pipeline's: timeouts.pipeline), timeouts.tasks, and each running task's (after a restart)."""
        started = self.state.started_at or self.clock()
        pipeline = self.plan.pipeline
        if self.plan.timeout_seconds is not None:
            what = f"PipelineRun {pipeline.run!r} failed to finish within" if pipeline else "task timeout of"
            self.timers.arm("task", started + self.plan.timeout_seconds, self.cancel, "TimeoutExceeded",
                            f"{what} {self.plan.timeout_seconds:g}s" + ("" if pipeline else " exceeded"))
        if pipeline is not None and pipeline.tasks_timeout_seconds is not None and not self.state.tasks_timed_out:
            self.timers.arm("tasks", started + pipeline.tasks_timeout_seconds, self._tasks_timed_out, "tasks")
        for task in self.state.tasks:
            if task.phase == "running" and task.name:
                first = task.is_finally and task.started_at == self.state.finally_started_at
                self._arm_task_timeouts(task, first and not self.state.finally_timed_out)

    def _arm_task_timeouts(self, task: TaskState, first_finally: bool) -> None:
        if task.plan.timeout_seconds is not None and task.started_at is not None:
            self.timers.arm(f"task:{task.name}", task.started_at + task.plan.timeout_seconds, self._stop_task,
                            task.name, "TaskRunTimeout", f"the task's timeout of {task.plan.timeout_seconds:g}s "
                                                         "was reached")
        limit = self.plan.pipeline.finally_timeout_seconds if self.plan.pipeline else None
        if first_finally and limit is not None and task.started_at is not None:
            self.timers.arm("finally", task.started_at + limit, self._tasks_timed_out, "finally")

    def _skip_steps(self, task: TaskState, why: str, cancelled: bool) -> None:
        for step in self.state.steps_of(task):
            if step.phase == "pending":
                self._skip(step, why, cancelled=cancelled)

    def _end_task(self, task: TaskState) -> None:
        self.timers.disarm(f"task:{task.name}")
        outcome, reason, message, results = ending(task, list(self.state.steps_of(task)), self.state.cancel_reason,
                                                   self.state.cancel_message)
        self._note("task_finished", task=task.name, outcome=outcome, reason=reason, message=message,
                   results=results)

    def _stop_task(self, name: str, reason: str, message: str) -> None:
        """Stop a running task before its steps end: its running step stops (TimeoutExceeded), the rest skip."""
        task = self.state.task(name)
        if task is None or task.phase != "running" or task.stopping or self.state.finished:
            return
        self._note("task_stopping", task=name, reason=reason, message=message)
        for step in self.state.steps_of(task):
            if step.phase in ("released", "running") and not step.stopping:
                self._stop_step(step, "TimeoutExceeded")
            elif step.phase == "held":
                self.end_hold(step.name, "timeout", advance=False)
        self._advance()

    def _tasks_timed_out(self, scope: str) -> None:
        """timeouts.tasks (scope tasks) or timeouts.finally (scope finally) was reached."""
        if self.state.finished or self.state.cancel_reason:
            return
        self._note("tasks_timeout", scope=scope)
        limit = self.plan.pipeline.tasks_timeout_seconds if scope == "tasks" and self.plan.pipeline else \
            self.plan.pipeline.finally_timeout_seconds if self.plan.pipeline else None
        for task in self.state.tasks:
            if task.phase == "running" and task.is_finally == (scope == "finally"):
                self._stop_task(task.name, "TaskRunTimeout", f"the pipeline's {scope} timeout of {limit:g}s "
                                                             "was reached")
        self._advance()

    def _end_tasks(self) -> None:
        """Winding down (cancelled, the pipeline's timeout): tasks never started are skipped, the rest end."""
        if not self.state.is_pipeline:
            return
        skip = {"TimeoutExceeded": "PipelineTimedOutSkip", "Cancelled": "GracefullyCancelledSkip"}.get(
            self.state.cancel_reason, "StoppingSkip")
        for task in self.state.tasks:
            if task.phase == "pending":
                self._note("task_skipped", task=task.name, reason=skip, message=self.state.cancel_message)
            elif task.phase == "running" and all(s.phase == "done" for s in self.state.steps_of(task)):
                self._end_task(task)

    def _arm_step_timeout(self, step: StepState) -> None:
        limit = self._step_plans[step.name].timeout_seconds
        if limit is not None and step.started_at is not None:
            self.timers.arm(f"step:{step.name}", step.started_at + limit, self._step_timed_out, step.name)

    def _arm_hold_timeout(self, step: StepState) -> None:
        assert step.held_at is not None
        self.timers.arm(f"hold:{step.name}", step.held_at + self.plan.hold_timeout_seconds,
                        self.end_hold, step.name, "timeout")

    def _step_timed_out(self, name: str) -> None:
        step = self.state.step(name)
        if step is not None and step.phase in ("released", "running") and not step.stopping:
            self._stop_step(step, "TimeoutExceeded")

    # the Runner's (runner.py)
    def _advance(self) -> None:
        raise NotImplementedError

    def end_hold(self, name: str, decision: str, advance: bool = True) -> None:
        raise NotImplementedError

    def cancel(self, reason: str, message: str = "") -> bool:
        raise NotImplementedError
