"""`doll run --report FILE`: refused up front when it could not be written, then the run as JSON.

The report is the run's view (generator/local/views.py) in full: its steps (results unshortened), sidecars,
outcome, and for a PipelineRun its tasks (name, outcome, reason, message, times, and `steps`: the names of its
steps in the report's `steps`) and the Pipeline's results (`pipeline_results`: name -> value, null when the
supervisor named a result without giving its value).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

from contracts.errors import UsageError
from generator.local.views import RunView, groups

__all__ = ["checking_report", "report_of", "writing_report"]


def checking_report(path: str) -> None:
    """Refuse a --report FILE that could not be written, before anything runs."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--report {path}: is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"--report {path}: no such directory {target.parent}")
    if not os.access(target.parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--report {path}: not writable")


def report_of(pod: str, code: int, wall: float, view: RunView) -> dict[str, Any]:
    """The pod, the exit status, the wall time and the run's view; each task with the names of its steps."""
    report: dict[str, Any] = {"pod": pod, "exit_code": code, "wall_seconds": wall, **dataclasses.asdict(view)}
    steps_of = {task.name: [s.name for s in steps] for task, steps in groups(view) if task is not None}
    report["tasks"] = [{**dataclasses.asdict(task), "steps": steps_of.get(task.name, [])} for task in view.tasks]
    return report


def writing_report(path: str, pod: str, code: int, wall: float, view: RunView) -> None:
    """The report written to `path`; a failure to write is said, not fatal."""
    try:
        Path(path).write_text(json.dumps(report_of(pod, code, wall, view), indent=2))
    except OSError as exc:
        print(f"doll run: --report {path}: cannot write it: {exc.strerror}", file=sys.stderr)
