"""The supervisor's journal records: one TypedDict per event, and `parse_record` for reading one back.

A record is a JSON object with an ``"ev"`` field naming the event and ``"at"`` (unix time, seconds); the
supervisor writes one line per record to `<run dir>/journal.jsonl` and replays them after a restart.
`parse_record` checks a record read back (field names, types, finite numbers) and raises `InputError`
naming the field, so that one bad line is skipped rather than crashing every restart.  Standard library only.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NotRequired, TypedDict, cast

from contracts.errors import InputError

__all__ = [
    "AnnouncedRecord", "CancelRecord", "EVENTS", "FinishedRecord", "HeldRecord", "JournalRecord",
    "ReleasedRecord", "RunFinishedRecord", "RunRecord", "SidecarRecord", "SkippedRecord", "StartedRecord",
    "StepOutcome", "StepReport", "StoppingRecord", "TaskFinishedRecord", "TaskRecord", "TaskSkippedRecord",
    "TaskStartedRecord", "TaskStoppingRecord", "TasksTimeoutRecord", "PipelineTaskOutcome", "UnheldRecord",
    "parse_record",
]

StepOutcome = Literal["succeeded", "failed", "skipped", "cancelled", "timed_out"]
TaskOutcome = Literal["Succeeded", "Failed", "Cancelled", "TimedOut"]
PipelineTaskOutcome = Literal["Succeeded", "Failed", "Cancelled", "TimedOut"]  # a pipeline task that ran
SidecarEvent = Literal["sidecar_announced", "sidecar_ready", "sidecar_unready", "sidecar_failed",
                       "sidecar_stopped"]


class StepReport(TypedDict, total=False):
    """A step's wrapper's report of how it ended (held onFailure: kept until someone decides)."""

    exit_code: int | None
    reason: str
    started_at: float | None
    finished_at: float | None
    results: dict[str, str]
    message: str


class RunRecord(TypedDict):
    ev: Literal["run"]
    at: float


class AnnouncedRecord(TypedDict):
    ev: Literal["announced"]
    at: float
    step: str


class SidecarRecord(TypedDict):
    ev: SidecarEvent
    at: float
    sidecar: str
    reason: NotRequired[str]  # sidecar_unready, sidecar_failed; sidecar_stopped: how it ended by itself


class HeldRecord(TypedDict):
    ev: Literal["held"]
    at: float
    step: str
    reason: str  # beforeStep | onFailure
    report: NotRequired[StepReport]


class UnheldRecord(TypedDict):
    ev: Literal["unheld"]
    at: float
    step: str
    decision: str  # continue | fail | timeout | cancel


class ReleasedRecord(TypedDict):
    ev: Literal["released"]
    at: float
    step: str
    handoff: NotRequired[float | None]


class StartedRecord(TypedDict):
    ev: Literal["started"]
    at: float
    step: str


class StoppingRecord(TypedDict):
    ev: Literal["stopping"]
    at: float
    step: str
    reason: str


class FinishedRecord(TypedDict):
    ev: Literal["finished"]
    at: float
    step: str
    outcome: StepOutcome
    reason: str
    exit_code: NotRequired[int | None]
    started_at: NotRequired[float | None]
    finished_at: NotRequired[float | None]
    results: NotRequired[dict[str, str]]
    message: NotRequired[str]
    source: NotRequired[str]  # files | lost: learnt from the post file, not from the wrapper


class SkippedRecord(TypedDict):
    ev: Literal["skipped"]
    at: float
    step: str
    reason: NotRequired[str]
    cancelled: NotRequired[bool]


class CancelRecord(TypedDict):
    ev: Literal["cancel"]
    at: float
    reason: str  # Cancelled | TimeoutExceeded | SidecarFailed
    message: NotRequired[str]


class RunFinishedRecord(TypedDict):
    ev: Literal["run_finished"]
    at: float
    outcome: TaskOutcome  # a PipelineRun that skipped some tasks: Succeeded, with reason Completed (as Tekton's)
    reason: NotRequired[str]
    message: NotRequired[str]
    pipeline_results: NotRequired[dict[str, str]]  # a PipelineRun's results: a string, or an array's/object's JSON


class TaskStartedRecord(TypedDict):
    """A pipeline task's turn came: its ref values are written, its first step is released next."""

    ev: Literal["task_started"]
    at: float
    task: str


class TaskSkippedRecord(TypedDict):
    ev: Literal["task_skipped"]
    at: float
    task: str
    reason: str  # Tekton's SkippingReason: WhenExpressionsSkip, StoppingSkip, ParentTasksSkip, ...
    message: NotRequired[str]


class TaskStoppingRecord(TypedDict):
    """The task is stopped before its steps end (its own timeout, the tasks' or the finally tasks' timeout)."""

    ev: Literal["task_stopping"]
    at: float
    task: str
    reason: str  # TaskRunTimeout
    message: NotRequired[str]


class TaskFinishedRecord(TypedDict):
    ev: Literal["task_finished"]
    at: float
    task: str
    outcome: PipelineTaskOutcome
    reason: str
    message: NotRequired[str]
    results: NotRequired[dict[str, str]]


class TasksTimeoutRecord(TypedDict):
    """timeouts.tasks (scope tasks) or timeouts.finally (scope finally) was reached."""

    ev: Literal["tasks_timeout"]
    at: float
    scope: Literal["tasks", "finally"]


TaskRecord = TaskStartedRecord | TaskSkippedRecord | TaskStoppingRecord | TaskFinishedRecord
JournalRecord = (RunRecord | AnnouncedRecord | SidecarRecord | HeldRecord | UnheldRecord | ReleasedRecord
                 | StartedRecord | StoppingRecord | FinishedRecord | SkippedRecord | CancelRecord
                 | RunFinishedRecord | TaskStartedRecord | TaskSkippedRecord | TaskStoppingRecord
                 | TaskFinishedRecord | TasksTimeoutRecord)

# field -> (its kind, required); kinds: str, num (a finite number), num? (or null), int? (or null), bool,
# results (an object of strings), report (a StepReport), and the outcome sets
_Fields = dict[str, tuple[str, bool]]
_STEP: _Fields = {"step": ("str", True)}
_TASK: _Fields = {"task": ("str", True)}
_CAR: _Fields = {"sidecar": ("str", True), "reason": ("str", False)}
EVENTS: dict[str, _Fields] = {
    "run": {},
    "announced": _STEP,
    **{ev: _CAR for ev in ("sidecar_announced", "sidecar_ready", "sidecar_unready", "sidecar_failed",
                           "sidecar_stopped")},
    "held": {**_STEP, "reason": ("str", True), "report": ("report", False)},
    "unheld": {**_STEP, "decision": ("str", True)},
    "released": {**_STEP, "handoff": ("num?", False)},
    "started": _STEP,
    "stopping": {**_STEP, "reason": ("str", True)},
    "finished": {**_STEP, "outcome": ("step_outcome", True), "reason": ("str", True), "exit_code": ("int?", False),
                 "started_at": ("num?", False), "finished_at": ("num?", False), "results": ("results", False),
                 "message": ("str", False), "source": ("str", False)},
    "skipped": {**_STEP, "reason": ("str", False), "cancelled": ("bool", False)},
    "cancel": {"reason": ("str", True), "message": ("str", False)},
    "run_finished": {"outcome": ("task_outcome", True), "reason": ("str", False), "message": ("str", False),
                     "pipeline_results": ("results", False)},
    "task_started": _TASK,
    "task_skipped": {**_TASK, "reason": ("str", True), "message": ("str", False)},
    "task_stopping": {**_TASK, "reason": ("str", True), "message": ("str", False)},
    "task_finished": {**_TASK, "outcome": ("task_outcome", True), "reason": ("str", True), "message": ("str", False),
                      "results": ("results", False)},
    "tasks_timeout": {"scope": ("scope", True)},
}
_REPORT: _Fields = {"exit_code": ("int?", False), "reason": ("str", False), "started_at": ("num?", False),
                    "finished_at": ("num?", False), "results": ("results", False), "message": ("str", False)}
_OUTCOMES = {"step_outcome": ("succeeded", "failed", "skipped", "cancelled", "timed_out"),
             "task_outcome": ("Succeeded", "Failed", "Cancelled", "TimedOut"), "scope": ("tasks", "finally")}


def parse_record(data: object) -> JournalRecord:
    """`data` (a decoded JSON line) as a journal record; InputError names the first field that is wrong."""
    if not isinstance(data, dict):
        raise InputError(f"record: expected an object, got {type(data).__name__}")
    ev = data.get("ev")
    if not isinstance(ev, str) or ev not in EVENTS:
        raise InputError(f"ev: unknown event {ev!r}")
    _check(data, {"at": ("num", True), **EVENTS[ev]}, ev)
    return cast(JournalRecord, data)


def _check(data: dict[Any, Any], fields: _Fields, where: str) -> None:
    for name, (kind, required) in fields.items():
        if name not in data:
            if required:
                raise InputError(f"{where}.{name}: missing")
            continue
        if not _fits(kind, data[name]):
            raise InputError(f"{where}.{name}: expected {kind}, got {_short(data[name])}")
        if kind == "report":
            _check(data[name], _REPORT, f"{where}.{name}")


def _fits(kind: str, value: object) -> bool:
    if kind.endswith("?") and value is None:
        return True
    kind = kind.rstrip("?")
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and _finite(value)
    if kind == "num":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and _finite(value)
    if kind == "results":
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
    if kind == "report":
        return isinstance(value, dict)
    return value in _OUTCOMES[kind]


def _finite(value: float) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:  # an integer too large for a float (a 401-digit number)
        return False


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
