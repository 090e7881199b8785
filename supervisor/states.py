"""The run's state, and the one function that changes it: `RunState.apply(record)`.

Every change is a journal record (a JSON object with an ``"ev"`` field, typed in contracts/journal.py); the same `apply` runs live
and when a restarted supervisor replays its journal, so the two can never disagree.  Records::

    run {at}                                   the run began (first start of the supervisor)
    announced {step, at}                       a step's wrapper said hello (first time only)
    sidecar_announced / sidecar_ready / sidecar_unready {sidecar, at}
    sidecar_failed {sidecar, at, reason}       never ready: the task fails
    sidecar_stopped {sidecar, at, [reason]}   told to stop, or it ended by itself (reason: how; no failure)
    held {step, at, reason, [report]}          report: the wrapper's finished message, when held onFailure
    unheld {step, at, decision}                decision: continue | fail | timeout | cancel
    released {step, at, handoff}               start sent; handoff = previous step's report -> release
    started {step, at}                         the child's real start time, from the wrapper
    stopping {step, at, reason}                stop sent (TimeoutExceeded or Cancelled)
    finished {step, at, exit_code, reason, outcome, started_at, finished_at, results, message}
    skipped {step, at, reason, cancelled}
    cancel {at, reason, message}               reason: Cancelled | TimeoutExceeded | SidecarFailed
    run_finished {at, outcome, reason, [pipeline_results]}
    task_started / task_skipped / task_stopping / task_finished {task, at, ...}; tasks_timeout {at, scope}
                                               a pipeline's tasks (task_states.py), timeouts.tasks / .finally
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from contracts.outcome import failure_message, fails_run
from contracts.journal import (
    AnnouncedRecord, FinishedRecord, HeldRecord, JournalRecord, ReleasedRecord, SidecarRecord, SkippedRecord,
    StartedRecord, StepReport, StoppingRecord, TaskRecord, UnheldRecord,
)
from contracts.status import PastHold, RunStatus, SidecarStatus, StepStatus
from contracts.plans import Plan, ResultSpec
from contracts.task_results import VALIDATION_FAILED, invalid_results
from supervisor.sidecar_states import SIDECAR_PHASES, SidecarPhase, SidecarState
from supervisor.task_states import TaskState, tasks_of

__all__ = [
    "HoldSpan", "Outcome", "RunState", "SIDECAR_PHASES", "STEP_OUTCOMES", "STEP_PHASES", "SidecarPhase",
    "SidecarState", "StepPhase", "StepRecord", "StepState", "TASK_OUTCOMES", "TaskOutcome",
]

StepPhase = Literal["pending", "held", "released", "running", "done"]
Outcome = Literal["", "succeeded", "failed", "skipped", "cancelled", "timed_out"]
TaskOutcome = Literal["", "Succeeded", "Failed", "Cancelled", "TimedOut"]
STEP_PHASES: tuple[str, ...] = ("pending", "held", "released", "running", "done")
STEP_OUTCOMES: tuple[str, ...] = ("succeeded", "failed", "skipped", "cancelled", "timed_out")
TASK_OUTCOMES: tuple[str, ...] = ("Succeeded", "Failed", "Cancelled", "TimedOut")

_NOT_IN_STATUS = ("failure", "breakpoint_passed", "container")  # StepState's fields that are no StepStatus
StepRecord = (AnnouncedRecord | HeldRecord | UnheldRecord | ReleasedRecord | StartedRecord | StoppingRecord
              | FinishedRecord | SkippedRecord)


@dataclass
class StepState:
    name: str
    index: int
    on_error: str = "stopAndFail"
    container: str = ""  # step-<name>: how Tekton's messages name it
    breakpoint_before: bool = False
    task: str = ""  # its pipeline task ("" in a TaskRun)
    phase: StepPhase = "pending"
    outcome: Outcome = ""
    reason: str = ""  # Tekton's: Completed, Error, Skipped, TimeoutExceeded, Cancelled
    exit_code: int | None = None
    message: str = ""
    results: dict[str, str] = field(default_factory=dict)
    announced_at: float | None = None
    released_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    handoff_seconds: float | None = None
    stopping: str = ""  # why we asked its wrapper to stop
    hold_reason: str = ""  # beforeStep | onFailure while held
    held_at: float | None = None
    breakpoint_passed: bool = False
    failure: StepReport = field(default_factory=lambda: StepReport())  # the wrapper's report of a failure held onFailure

    @property
    def wait_seconds(self) -> float | None:
        if self.announced_at is None or self.released_at is None:
            return None
        return max(0.0, self.released_at - self.announced_at)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)


@dataclass
class HoldSpan:
    """One hold of a step, from when it began to how it ended (not the wire's `Hold` message)."""

    step: str
    reason: str
    since: float
    until: float | None = None
    decision: str = ""


@dataclass
class RunState:
    steps: list[StepState]
    sidecars: list[SidecarState]
    started_at: float | None = None
    finished_at: float | None = None
    outcome: TaskOutcome = ""
    reason: str = ""
    cancel_reason: str = ""  # non-empty: winding down (Cancelled, TimeoutExceeded, SidecarFailed)
    cancel_message: str = ""
    message: str = ""
    failed: bool = False  # a stopAndFail step failed: the rest are skipped
    holds: list[HoldSpan] = field(default_factory=list)
    records: int = 0
    result_specs: tuple[ResultSpec, ...] = ()  # the task's declared results, checked at the end
    tasks: list[TaskState] = field(default_factory=list)  # a TaskRun: one implicit task (name ""), running
    tasks_timed_out: bool = False  # timeouts.tasks reached: pending DAG tasks are skipped
    finally_timed_out: bool = False  # timeouts.finally reached: pending finally tasks are skipped
    pipeline_results: dict[str, str] = field(default_factory=dict)
    _by_task: dict[str, list[StepState]] = field(default_factory=dict, repr=False, compare=False)
    _tasks_by_name: dict[str, TaskState] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_plan(cls, plan: Plan) -> RunState:
        tasks = tasks_of(plan)
        if not plan.tasks:
            tasks[0].phase = "running"  # a TaskRun's steps are its one task, which has no records of its own
        return cls(steps=[StepState(s.name, s.index, s.on_error, s.container, s.breakpoint_before, s.task)
                          for s in plan.steps],
                   sidecars=[SidecarState(s.name) for s in plan.sidecars], result_specs=plan.results, tasks=tasks)

    @property
    def is_pipeline(self) -> bool:
        return bool(self.tasks and self.tasks[0].name)

    def task(self, name: str) -> TaskState | None:  # indexed once: every hand-off asks for each task's parents
        self._tasks_by_name.update({} if self._tasks_by_name else {t.name: t for t in self.tasks})
        return self._tasks_by_name.get(name)

    def steps_of(self, task: TaskState) -> list[StepState]:
        """The task's steps in order (built once: every hand-off asks, and a task may have hundreds)."""
        if not self._by_task:
            self._by_task.update({t.name: [s for s in self.steps if s.task == t.name] for t in self.tasks})
        return self._by_task.get(task.name, [])

    @property
    def finally_started_at(self) -> float | None:
        return min((t.started_at for t in self.tasks if t.is_finally and t.started_at is not None), default=None)

    def step(self, name: str) -> StepState | None:
        return next((s for s in self.steps if s.name == name), None)

    def sidecar(self, name: str) -> SidecarState | None:
        return next((s for s in self.sidecars if s.name == name), None)

    @property
    def finished(self) -> bool:
        return self.outcome != ""

    @property
    def sidecars_ready(self) -> bool:
        return all(s.ready_at is not None or s.phase == "stopped" for s in self.sidecars)  # Tekton's SidecarsReady

    def task_outcome(self) -> tuple[TaskOutcome, str]:
        """What the run comes to, once every step is done."""
        if self.cancel_reason == "TimeoutExceeded":
            return "TimedOut", "TaskRunTimeout"
        if self.cancel_reason == "Cancelled":
            return "Cancelled", "TaskRunCancelled"
        if self.cancel_reason or self.failed:
            return "Failed", self.cancel_reason or "Failed"
        if invalid_results(self.result_specs, self.task_results()):
            return "Failed", VALIDATION_FAILED
        return "Succeeded", "Succeeded"

    def task_results(self) -> dict[str, str]:
        """The task's results: what the last step that reported each one said (every wrapper reads them all)."""
        return {k: v for s in self.steps for k, v in s.results.items()}

    def failure_message(self) -> str:
        """The run's message: why it was cancelled, else which step failed it (Tekton's getFailureMessage)."""
        failing = (failure_message(s.container, s.outcome, s.reason, s.exit_code) for s in self.steps
                   if s.phase == "done" and fails_run(s.outcome, s.on_error, s.reason))
        return self.cancel_message or next(failing, "") or invalid_results(self.result_specs, self.task_results())

    # --- the reducer ---------------------------------------------------------------------------

    def apply(self, rec: JournalRecord) -> None:
        """Apply one record (checked by contracts.journal.parse_record when it was read back)."""
        self.records += 1
        at = float(rec.get("at", 0.0))
        if rec["ev"] == "run":
            self.started_at = self.started_at or at
        elif rec["ev"] == "cancel":
            if not self.cancel_reason:
                self.cancel_reason, self.cancel_message = rec["reason"], rec.get("message", "")
        elif rec["ev"] == "run_finished":
            self.outcome, self.reason, self.finished_at = rec["outcome"], rec.get("reason", ""), at
            self.message, self.pipeline_results = rec.get("message", ""), dict(rec.get("pipeline_results") or {})
        elif rec["ev"] == "tasks_timeout":
            if rec["scope"] == "tasks":
                self.tasks_timed_out = True
            else:
                self.finally_timed_out = True
        elif rec["ev"].startswith("task_"):
            task = self.task(cast(TaskRecord, rec)["task"])
            if task is not None:
                task.apply(cast(TaskRecord, rec), at)
        elif rec["ev"].startswith("sidecar_"):
            car = self.sidecar(cast(SidecarRecord, rec)["sidecar"])
            if car is not None:
                car.apply(cast(SidecarRecord, rec), at)
        else:
            self._apply_step(cast(StepRecord, rec), at)

    def _apply_step(self, rec: StepRecord, at: float) -> None:
        step = self.step(rec["step"])
        if step is None:
            return
        if rec["ev"] == "announced":
            step.announced_at = step.announced_at or at
        elif rec["ev"] == "held":
            self._apply_held(step, rec, at)
        elif rec["ev"] == "unheld":
            self._apply_unheld(step, rec, at)
        elif rec["ev"] == "released":
            step.phase, step.released_at, step.handoff_seconds = "released", at, rec.get("handoff")
        elif rec["ev"] == "started":
            if step.phase in ("pending", "released"):
                step.phase = "running"
            step.started_at = at
        elif rec["ev"] == "stopping":
            step.stopping = rec["reason"]
        elif rec["ev"] == "finished":
            self._apply_finished(step, rec, at)
        elif rec["ev"] == "skipped":
            step.phase, step.outcome, step.reason = "done", "skipped", "Skipped"
            step.message, step.started_at, step.finished_at = rec.get("reason", ""), None, at
            step.hold_reason, step.held_at = "", None

    def _apply_held(self, step: StepState, rec: HeldRecord, at: float) -> None:
        step.phase, step.hold_reason, step.held_at = "held", rec["reason"], at
        step.failure = cast(StepReport, dict(rec.get("report") or {}))
        if step.failure.get("started_at") is not None:
            step.started_at = step.failure["started_at"]
        self.holds.append(HoldSpan(step.name, rec["reason"], at))

    def _apply_unheld(self, step: StepState, rec: UnheldRecord, at: float) -> None:
        if step.hold_reason == "beforeStep" and rec["decision"] == "continue":
            step.phase, step.breakpoint_passed = "pending", True
        step.hold_reason, step.held_at = "", None
        for hold in self.holds:
            if hold.step == step.name and hold.until is None:
                hold.until, hold.decision = at, rec["decision"]

    def _apply_finished(self, step: StepState, rec: FinishedRecord, at: float) -> None:
        step.phase, step.outcome, step.reason = "done", rec["outcome"], rec["reason"]
        step.exit_code, step.message = rec.get("exit_code"), rec.get("message", "")
        step.results = dict(rec.get("results") or {})
        step.started_at = rec.get("started_at", step.started_at)
        step.finished_at = rec.get("finished_at") or at
        step.hold_reason, step.held_at = "", None
        if fails_run(step.outcome, step.on_error, step.reason):
            self.failed = True

    # --- views -----------------------------------------------------------------------------------

    def current_hold(self) -> StepState | None:
        return next((s for s in self.steps if s.phase == "held"), None)

    def to_status(self) -> dict[str, Any]:
        """`status()` as a plain dict: what a wire Reply and the HTTP answer carry."""
        return dict(self.status())

    def status(self) -> RunStatus:
        """The whole run as JSON-able data (GET /status, `doll ctl status --json`)."""
        hold = self.current_hold()
        return {
            "phase": "finished" if self.finished else ("running" if self.sidecars_ready else "waiting-sidecars"),
            "outcome": self.outcome, "reason": self.reason, "message": self.message,
            "cancel_reason": self.cancel_reason, "started_at": self.started_at, "finished_at": self.finished_at,
            "hold": None if hold is None else {"step": hold.name, "reason": hold.hold_reason, "since": hold.held_at},
            "steps": [
                cast(StepStatus, {**{k: v for k, v in asdict(s).items() if k not in _NOT_IN_STATUS},
                                  "wait_seconds": s.wait_seconds, "duration_seconds": s.duration_seconds})
                for s in self.steps
            ],
            "tasks": [t.status() for t in self.tasks] if self.is_pipeline else [],
            "pipeline_results": sorted(self.pipeline_results),
            "pipeline_result_values": dict(sorted(self.pipeline_results.items())),
            "sidecars": [cast(SidecarStatus, asdict(c)) for c in self.sidecars],
            "holds": [cast(PastHold, asdict(h)) for h in self.holds],
        }
