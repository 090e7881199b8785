"""The run as `doll run` shows it: the supervisor's status (contracts/status.py) reduced to what the display,
the final table, the report and the judging need; a PipelineRun's steps grouped under their tasks.

A TaskRun's status has no tasks: its steps are one group with no task, shown as they always were.  A
PipelineRun's status names each step's task (`StepStatus.task`); the plan step `build-compile` is the step
`compile` of the task `build`, and is shown by that own name under its task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from contracts.plans import Plan

__all__ = ["RunView", "SidecarView", "StepView", "TaskView", "groups", "own_name", "planned_view", "task_results",
           "view_from_status"]


@dataclass(frozen=True)
class StepView:
    name: str  # the plan's step name: in a pipeline `<task>-<step>`
    phase: str = "pending"  # pending | held | released | running | done
    outcome: str = ""  # succeeded | failed | skipped | cancelled | timed_out
    reason: str = ""  # Completed | Error | Skipped | TimeoutExceeded | Cancelled
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    hold_reason: str = ""
    results: dict[str, str] = field(default_factory=dict)
    task: str = ""  # its pipeline task ("" in a TaskRun)


@dataclass(frozen=True)
class TaskView:
    """A pipeline task as the supervisor decided it (contracts.status.TaskStatus)."""

    name: str
    phase: str = "pending"  # pending | running | done
    outcome: str = ""  # Succeeded | Failed | Skipped | TimedOut | Cancelled, once done
    reason: str = ""  # Tekton's reason, or why it was skipped (WhenExpressionsSkip, ...)
    message: str = ""  # one line a person reads: which step failed, which `when` was false...
    started_at: float | None = None
    finished_at: float | None = None
    is_finally: bool = False
    run_after: tuple[str, ...] = ()
    display_name: str = ""


@dataclass(frozen=True)
class SidecarView:
    name: str
    phase: str = "pending"  # pending | announced | ready | unready | failed | stopped
    ready_at: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class RunView:
    steps: tuple[StepView, ...]
    sidecars: tuple[SidecarView, ...] = ()
    started_at: float | None = None
    finished_at: float | None = None
    outcome: str = ""  # Succeeded | Failed | Cancelled | TimedOut, once the supervisor decided
    reason: str = ""
    message: str = ""
    tasks: tuple[TaskView, ...] = ()  # a PipelineRun's, in the plan's order; () for a TaskRun
    # a PipelineRun's results: name -> value (array and object values as JSON); None: named, value not given
    pipeline_results: dict[str, str | None] = field(default_factory=dict)

    def with_step(self, step: StepView) -> RunView:
        return replace(self, steps=tuple(step if s.name == step.name else s for s in self.steps))

    def with_task(self, task: TaskView) -> RunView:
        return replace(self, tasks=tuple(task if t.name == task.name else t for t in self.tasks))


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _step(s: dict[str, Any]) -> StepView:
    return StepView(
        name=str(s.get("name", "")), phase=str(s.get("phase", "pending")), outcome=str(s.get("outcome", "")),
        reason=str(s.get("reason", "")),
        exit_code=s["exit_code"] if isinstance(s.get("exit_code"), int) else None,
        started_at=_num(s.get("started_at")), finished_at=_num(s.get("finished_at")),
        hold_reason=str(s.get("hold_reason", "")),
        results={str(k): str(v) for k, v in (s.get("results") or {}).items()},
        task=str(s.get("task") or ""),
    )


def _task(t: dict[str, Any]) -> TaskView:
    return TaskView(
        name=str(t.get("name", "")), phase=str(t.get("phase", "pending")), outcome=str(t.get("outcome", "")),
        reason=str(t.get("reason", "")), message=str(t.get("message", "")),
        started_at=_num(t.get("started_at")), finished_at=_num(t.get("finished_at")),
        is_finally=t.get("is_finally") is True,
        run_after=tuple(str(n) for n in t.get("run_after") or ()), display_name=str(t.get("display_name") or ""),
    )


def _pipeline_results(status: dict[str, Any]) -> dict[str, str | None]:
    """The names in `pipeline_results`, with their values where the status gives them
    (`pipeline_result_values`: name -> value, which /status leaves out as it leaves out the steps' results)."""
    values = status.get("pipeline_result_values")
    values = values if isinstance(values, dict) else {}
    names = [str(n) for n in status.get("pipeline_results") or () if isinstance(n, str)]
    found: dict[str, str | None] = {name: None for name in names}
    found.update({str(k): _text(v) for k, v in values.items()})
    return dict(sorted(found.items()))


def view_from_status(status: dict[str, Any]) -> RunView:
    """The supervisor's status document (its RunState) reduced to what the display needs."""
    sidecars = tuple(SidecarView(
        name=str(c.get("name", "")), phase=str(c.get("phase", "pending")), ready_at=_num(c.get("ready_at")),
        reason=str(c.get("reason", "")),
    ) for c in status.get("sidecars", []) if isinstance(c, dict))
    return RunView(steps=tuple(_step(s) for s in status.get("steps", []) if isinstance(s, dict)),
                   sidecars=sidecars, started_at=_num(status.get("started_at")),
                   finished_at=_num(status.get("finished_at")),
                   outcome=str(status.get("outcome", "")), reason=str(status.get("reason", "")),
                   message=str(status.get("message", "")),
                   tasks=tuple(_task(t) for t in status.get("tasks") or () if isinstance(t, dict)),
                   pipeline_results=_pipeline_results(status))


def planned_view(view: RunView, plan: Plan | None) -> RunView:
    """The view with the plan's tasks and each step's task where the status did not give them (the supervisor
    died before its first record): a pipeline's steps are still shown under their tasks."""
    if plan is None or not plan.tasks:
        return view
    tasks = view.tasks or tuple(TaskView(t.name, is_finally=t.is_finally, run_after=t.run_after,
                                         display_name=t.display_name) for t in plan.tasks)
    task_of = {s.name: s.task for s in plan.steps}
    steps = tuple(s if s.task else replace(s, task=task_of.get(s.name, "")) for s in view.steps)
    return replace(view, tasks=tasks, steps=steps)


def own_name(step: StepView) -> str:
    """The step's name in its Task (`compile` for the plan step `build-compile` of the task `build`)."""
    prefix = f"{step.task}-"
    return step.name[len(prefix):] if step.task and step.name.startswith(prefix) else step.name


def groups(view: RunView) -> list[tuple[TaskView | None, tuple[StepView, ...]]]:
    """The steps under their tasks, in the tasks' order; a TaskRun's steps are one group with no task, and so
    are, last, any steps whose task the status does not list (never dropped)."""
    if not view.tasks:
        return [(None, view.steps)]
    found: list[tuple[TaskView | None, tuple[StepView, ...]]] = [
        (t, tuple(s for s in view.steps if s.task == t.name)) for t in view.tasks]
    known = {t.name for t in view.tasks}
    rest = tuple(s for s in view.steps if s.task not in known)
    return found + [(None, rest)] if rest else found


def task_results(steps: tuple[StepView, ...]) -> dict[str, str]:
    """A task's results: each step reports the ones written in its task's /tekton/results when it ended, so a
    later step's value is the newer."""
    results: dict[str, str] = {}
    for step in steps:
        results.update(step.results)
    return dict(sorted(results.items()))
