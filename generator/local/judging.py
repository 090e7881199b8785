"""The run's outcome as an exit status; when the supervisor died before deciding, judged as Tekton would,
from the steps' own records."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from contracts.exits import EXIT_FAILED, EXIT_SUCCEEDED
from contracts.records import read_post
from generator.local import podman
from generator.local.progress import Display, RunView, StepView

__all__ = ["outcome_code", "without_supervisor"]



def _step_succeeded(step: StepView, steps_dir: Path | None) -> bool:
    """The wrapper's own record: its post file `out` (the run may go on) or `out.err`; else its exit code."""
    record = read_post(str(steps_dir), step.name) if steps_dir is not None else None
    if record is not None:
        return not record.failed
    return step.exit_code == 0


def without_supervisor(view: RunView, pod: str, steps_dir: Path | None, display: Display) -> RunView:
    """No outcome from the supervisor (it died): judge as Tekton would, from the steps' own records; every
    step done with success -> Succeeded."""
    try:
        states = podman.inspecting([f"{pod}-doll-supervisor"])
    except podman.PodmanError:
        states = []
    if not states or states[0].exit_code != 0:
        how = f"exit {states[0].exit_code}" if states else "gone"
        display.note(f"the supervisor died ({how}) before deciding; the outcome comes from the steps' own "
                     "records (post files, exit codes)")
    succeeded = all(_step_succeeded(s, steps_dir) for s in view.steps)
    return dataclasses.replace(view, outcome="Succeeded" if succeeded else "Failed",
                               reason="" if succeeded else "the supervisor died; a step failed or did not end")


def outcome_code(view: RunView) -> int:
    return EXIT_SUCCEEDED if view.outcome == "Succeeded" else EXIT_FAILED
