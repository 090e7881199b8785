"""The run as the supervisor shows it: the JSON of GET /status and of `doll ctl status --json`.

Written by the supervisor (`supervisor.states.RunState.to_status`), read by `doll ctl` and the generator's
progress view.  Standard library only.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["HoldView", "PastHold", "RunStatus", "SidecarStatus", "StepStatus", "TaskStatus"]


class HoldView(TypedDict):
    """The step held now."""

    step: str
    reason: str  # beforeStep | onFailure
    since: float | None


class StepStatus(TypedDict):
    name: str
    task: str  # its pipeline task ("" in a TaskRun)
    index: int
    on_error: str
    breakpoint_before: bool
    phase: str  # pending | held | released | running | done
    outcome: str  # "" until done: succeeded | failed | skipped | cancelled | timed_out
    reason: str
    exit_code: int | None
    message: str
    results: dict[str, str]
    announced_at: float | None
    released_at: float | None
    started_at: float | None
    finished_at: float | None
    handoff_seconds: float | None
    stopping: str
    hold_reason: str
    held_at: float | None
    wait_seconds: float | None
    duration_seconds: float | None


class TaskStatus(TypedDict):
    """A pipeline task (a matrix combination is one task): its steps are the StepStatus with its name as `task`."""

    name: str
    display_name: str
    matrix: str  # the pipeline task a matrix copy was made from ("")
    is_finally: bool
    run_after: list[str]
    phase: str  # pending | running | done
    outcome: str  # "" until done: Succeeded | Failed | Skipped | TimedOut | Cancelled (Tekton's TaskRun reasons)
    reason: str  # why: Tekton's reason (Failed, TaskRunTimeout, ...) or skipping reason (WhenExpressionsSkip, ...)
    message: str  # one line a person reads: which step failed, which `when` was false, which result was missing
    started_at: float | None  # its first step's release
    finished_at: float | None
    duration_seconds: float | None
    results: list[str]  # the names of the results it gave (their values stay in the Pod)


class SidecarStatus(TypedDict):
    name: str
    phase: str  # pending | announced | ready | unready | failed | stopped
    announced_at: float | None
    ready_at: float | None
    stopped_at: float | None
    reason: str


class PastHold(TypedDict):
    step: str
    reason: str
    since: float
    until: float | None
    decision: str


class RunStatus(TypedDict):
    phase: str  # waiting-sidecars | running | finished
    outcome: str
    reason: str
    message: str
    cancel_reason: str
    started_at: float | None
    finished_at: float | None
    hold: HoldView | None
    steps: list[StepStatus]
    tasks: list[TaskStatus]  # a PipelineRun's tasks ([] for a TaskRun)
    pipeline_results: list[str]  # the names of the Pipeline results the run gave
    pipeline_result_values: dict[str, str]  # ... and their values (a string, or an array's/object's JSON): not in /status
    sidecars: list[SidecarStatus]
    holds: list[PastHold]
