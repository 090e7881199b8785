"""The run's outcome as an exit status; when the supervisor died before deciding, judged as Tekton would,
from the steps' own records.

A TaskRun succeeded when every step's record says so.  A PipelineRun (its plan is in the Pod: the init
container's DOLL_PLAN) succeeded when every task did, where a task the supervisor recorded as skipped is no
failure, nor is a failed task the plan marks `onError: continue` (Tekton's TEP-0050, docs/pipelines.md
"Specifying onError for PipelineTasks"), and a task the supervisor had not decided is judged from its steps'
records: one failed -> Failed; all ended well -> Succeeded; else it did not end, which fails the run (its
dependents and the finally tasks never ran).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from contracts.exits import EXIT_FAILED, EXIT_SUCCEEDED
from contracts.layout import INIT_CONTAINER
from contracts.plans import Plan, PlanError
from contracts.records import read_post
from generator.init.env_values import joined
from generator.local import podman
from generator.local.progress import Display
from generator.local.views import RunView, StepView, TaskView, planned_view

__all__ = ["outcome_code", "pod_plan", "without_supervisor"]

_NO_FAILURE = ("Succeeded", "Skipped")  # a task's outcomes that fail nothing (Tekton: successful or skipped)
_JUDGED = "judged from its steps' own records (the supervisor died)"


def pod_plan(pod: dict[str, Any]) -> Plan | None:
    """The plan the Pod carries in its init container's environment (generator/tekton/rendering.py), or None."""
    for container in (pod.get("spec") or {}).get("initContainers") or []:
        if isinstance(container, dict) and container.get("name") == INIT_CONTAINER:
            env = {str(e["name"]): str(e.get("value", "")) for e in container.get("env") or []
                   if isinstance(e, dict) and "name" in e}
            text = joined(env, "DOLL_PLAN")
            try:
                return Plan.from_json(text) if text else None
            except PlanError:
                return None
    return None


def _step_ended(step: StepView, steps_dir: Path | None) -> bool | None:
    """The wrapper's own record: its post file `out` (the run may go on: True) or `out.err` (False); else its
    exit code; None when nothing says it ended."""
    record = read_post(str(steps_dir), step.name) if steps_dir is not None else None
    if record is not None:
        return not record.failed
    return None if step.exit_code is None else step.exit_code == 0


def _task_judged(task: TaskView, steps: list[StepView], steps_dir: Path | None) -> TaskView:
    """The task as the supervisor decided it, else as its steps' records say (its outcome "" if they do not)."""
    if task.outcome:
        return task
    ended = [_step_ended(s, steps_dir) for s in steps]
    if False in ended:
        return dataclasses.replace(task, phase="done", outcome="Failed", reason="Failed", message=_JUDGED)
    if steps and all(ended):
        return dataclasses.replace(task, phase="done", outcome="Succeeded", reason="Succeeded", message=_JUDGED)
    return task


def _pipeline_judged(view: RunView, plan: Plan, steps_dir: Path | None) -> RunView:
    """Each task judged; the run Succeeded when none failed (but those marked onError continue) or did not end."""
    failing: list[str] = []
    view = planned_view(view, plan)
    for planned in plan.tasks:
        task = next((t for t in view.tasks if t.name == planned.name), TaskView(planned.name))
        task = _task_judged(task, [s for s in view.steps if s.task == planned.name], steps_dir)
        view = view.with_task(task)
        if task.outcome not in _NO_FAILURE and not (task.outcome and planned.on_error == "continue"):
            failing.append(f"task {task.name} " + (f"ended {task.outcome}" if task.outcome else "did not end"))
    if not failing:
        return dataclasses.replace(view, outcome="Succeeded", reason="")
    return dataclasses.replace(view, outcome="Failed", reason=f"the supervisor died; {failing[0]}",
                               message="; ".join(failing))


def without_supervisor(view: RunView, pod: str, steps_dir: Path | None, display: Display,
                       plan: Plan | None = None) -> RunView:
    """No outcome from the supervisor (it died): judge as Tekton would, from the steps' own records (and, for a
    PipelineRun, the tasks the supervisor decided before it died and the plan's onError)."""
    try:
        states = podman.inspecting([f"{pod}-doll-supervisor"])
    except podman.PodmanError:
        states = []
    if not states or states[0].exit_code != 0:
        how = f"exit {states[0].exit_code}" if states else "gone"
        display.note(f"the supervisor died ({how}) before deciding; the outcome comes from the steps' own "
                     "records (post files, exit codes)")
    if plan is not None and plan.tasks:
        return _pipeline_judged(view, plan, steps_dir)
    succeeded = all(_step_ended(s, steps_dir) for s in view.steps)
    return dataclasses.replace(view, outcome="Succeeded" if succeeded else "Failed",
                               reason="" if succeeded else "the supervisor died; a step failed or did not end")


def outcome_code(view: RunView) -> int:
    return EXIT_SUCCEEDED if view.outcome == "Succeeded" else EXIT_FAILED
