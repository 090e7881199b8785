"""A pipeline task's state (`TaskState`), changed only by its journal records, and what it comes to.

A TaskRun's plan has no tasks: its steps are one implicit task (name ""), so the Runner drives both the
same way.  A task is pending until its turn (`task_started`, or `task_skipped` with Tekton's
SkippingReason), running while its steps go in order, done once `task_finished` says how it ended (Tekton's
TaskRun outcome and reason).  `task_stopping` marks a task stopped before its steps end (a timeout).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, cast

from contracts.journal import TaskRecord
from contracts.outcome import failure_message, fails_run
from contracts.plans import Plan, ResultSpec, TaskPlan
from contracts.status import TaskStatus
from contracts.task_results import VALIDATION_FAILED, invalid_results

__all__ = ["StepView", "TaskPhase", "TaskState", "ending", "implicit_task", "tasks_of"]

TaskPhase = Literal["pending", "running", "done"]


@dataclass
class TaskState:
    name: str
    steps: list[str]  # its steps' names, in order
    plan: TaskPlan = field(default_factory=lambda: TaskPlan(name=""))
    phase: TaskPhase = "pending"
    outcome: str = ""  # Succeeded | Failed | Skipped | TimedOut | Cancelled
    reason: str = ""
    message: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    results: dict[str, str] = field(default_factory=dict)
    stopping: str = ""  # why it is being stopped before its steps end (TaskRunTimeout)
    stopping_message: str = ""

    @property
    def is_finally(self) -> bool:
        return self.plan.is_finally

    @property
    def result_specs(self) -> tuple[ResultSpec, ...]:
        return self.plan.results

    @property
    def ref_status(self) -> str:
        """`$(tasks.<name>.status)`: Succeeded | Failed | None (skipped, or not run)."""
        if self.outcome == "Succeeded":
            return "Succeeded"
        return "None" if self.outcome in ("", "Skipped") else "Failed"

    @property
    def stops_the_run(self) -> bool:
        """A DAG task that failed (not onError: continue) makes the run stopping (Tekton's IsStopping)."""
        return (not self.is_finally and self.outcome in ("Failed", "TimedOut", "Cancelled")
                and self.reason != "FailureIgnored")

    def apply(self, rec: TaskRecord, at: float) -> None:
        if rec["ev"] == "task_started":
            self.phase, self.started_at = "running", self.started_at or at
        elif rec["ev"] == "task_stopping":
            self.stopping, self.stopping_message = rec["reason"], rec.get("message", "")
        elif rec["ev"] == "task_skipped":
            self.phase, self.outcome, self.reason = "done", "Skipped", rec["reason"]
            self.message, self.finished_at = rec.get("message", ""), at
        elif rec["ev"] == "task_finished":
            self.phase, self.outcome, self.reason = "done", rec["outcome"], rec["reason"]
            self.message, self.finished_at = rec.get("message", ""), at
            self.results = dict(rec.get("results") or {})

    def status(self) -> TaskStatus:
        duration = None if self.started_at is None or self.finished_at is None else \
            max(0.0, self.finished_at - self.started_at)
        return cast(TaskStatus, {
            "name": self.name, "display_name": self.plan.display_name, "matrix": self.plan.matrix,
            "is_finally": self.is_finally, "run_after": list(self.plan.run_after), "phase": self.phase,
            "outcome": self.outcome, "reason": self.reason, "message": self.message,
            "started_at": self.started_at, "finished_at": self.finished_at, "duration_seconds": duration,
            "results": sorted(self.results),
        })


def implicit_task(plan: Plan) -> TaskState:
    """A TaskRun's one task: all its steps."""
    return TaskState("", [s.name for s in plan.steps], TaskPlan(name="", results=plan.results))


def tasks_of(plan: Plan) -> list[TaskState]:
    if not plan.tasks:
        return [implicit_task(plan)]
    return [TaskState(t.name, [s.name for s in plan.steps if s.task == t.name], t) for t in plan.tasks]


class StepView(Protocol):
    """What a task's ending reads of each of its steps (states.StepState)."""

    @property
    def container(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def on_error(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def exit_code(self) -> int | None: ...
    @property
    def results(self) -> dict[str, str]: ...


def ending(task: TaskState, steps: list[StepView], cancel_reason: str,
           cancel_message: str) -> tuple[str, str, str, dict[str, str]]:
    """(outcome, reason, message, results) of a task whose steps are all done, as Tekton's TaskRun ends."""
    results = {k: v for s in steps for k, v in s.results.items()}  # the last step that reported each wins
    failing = next((failure_message(s.container, s.outcome, s.reason, s.exit_code) for s in steps
                    if fails_run(s.outcome, s.on_error, s.reason)), "")
    if task.stopping:
        outcome, reason, message = "TimedOut", task.stopping, task.stopping_message
    elif cancel_reason == "Cancelled":
        outcome, reason, message = "Cancelled", "TaskRunCancelled", cancel_message
    elif cancel_reason == "TimeoutExceeded" and task.name:
        outcome, reason, message = "Cancelled", "TaskRunCancelled", cancel_message
    elif cancel_reason == "TimeoutExceeded":
        outcome, reason, message = "TimedOut", "TaskRunTimeout", cancel_message
    elif cancel_reason:
        outcome, reason, message = "Failed", cancel_reason, cancel_message
    elif failing:
        outcome, reason, message = "Failed", "Failed", failing
    elif why := invalid_results(task.result_specs, results):
        outcome, reason, message = "Failed", VALIDATION_FAILED, why
    else:
        outcome, reason, message = "Succeeded", "Succeeded", ""
    if outcome != "Succeeded" and task.plan.on_error == "continue" and not cancel_reason:
        reason = "FailureIgnored"  # Tekton's PipelineTask onError: continue: failed, and nothing else stops
    return outcome, reason, message, results
