"""The run as the supervisor shows it: the JSON of GET /status and of `doll ctl status --json`.

Written by the supervisor (`supervisor.states.RunState.to_status`), read by `doll ctl` and the generator's
progress view.  Standard library only.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["HoldView", "PastHold", "RunStatus", "SidecarStatus", "StepStatus"]


class HoldView(TypedDict):
    """The step held now."""

    step: str
    reason: str  # beforeStep | onFailure
    since: float | None


class StepStatus(TypedDict):
    name: str
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
    sidecars: list[SidecarStatus]
    holds: list[PastHold]
