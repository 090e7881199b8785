"""The run's state as `contracts.status.RunStatus`: what GET /status and `doll ctl status --json` show."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, cast

from contracts.status import PastHold, RunStatus, SidecarStatus, StepStatus

if TYPE_CHECKING:
    from supervisor.states import RunState

__all__ = ["run_status"]

_NOT_IN_STATUS = ("failure", "breakpoint_passed", "container")  # StepState's fields that are no StepStatus


def run_status(state: RunState) -> RunStatus:
    hold = state.current_hold()
    return {
        "phase": "finished" if state.finished else ("running" if state.sidecars_ready else "waiting-sidecars"),
        "outcome": state.outcome,
        "reason": state.reason,
        "message": state.message,
        "cancel_reason": state.cancel_reason,
        "started_at": state.started_at,
        "finished_at": state.finished_at,
        "hold": None if hold is None else {"step": hold.name, "reason": hold.hold_reason, "since": hold.held_at},
        "steps": [
            cast(StepStatus, {**{k: v for k, v in asdict(s).items() if k not in _NOT_IN_STATUS},
                              "wait_seconds": s.wait_seconds, "duration_seconds": s.duration_seconds})
            for s in state.steps
        ],
        "tasks": [t.status() for t in state.tasks] if state.is_pipeline else [],
        "pipeline_results": sorted(state.pipeline_results),
        "sidecars": [cast(SidecarStatus, asdict(c)) for c in state.sidecars],
        "holds": [cast(PastHold, asdict(h)) for h in state.holds],
    }
