"""What `doll run` shows while the run goes on: the run's view (generator/local/views.py), live or as plain
lines.

On a terminal the sidecar/task/step block is redrawn in place under the streamed logs; otherwise each
change is printed once as a plain line (`doll: step build started`), which is what CI logs want.  A
PipelineRun's steps are shown under their tasks (each task waiting, running, done or skipped, and why), and
the tasks running at the same time are named together; a TaskRun's steps are shown as they always were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from generator.local.views import RunView, SidecarView, StepView, TaskView, groups, own_name

__all__ = ["Display", "clock", "seconds", "step_line", "task_line", "together_line"]


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s"


def clock(at: float | None) -> str:
    if at is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int((at % 1) * 1000):03d}"


def step_line(step: StepView, now: float | None, name: str = "") -> str:
    """One step, named `name` (its plan name by default); `now` None: without a running time (plain lines)."""
    name = name or step.name
    if step.phase == "done":
        took = (step.finished_at - step.started_at) if step.finished_at and step.started_at else None
        code = "" if step.exit_code is None else f" exit {step.exit_code}"
        return f"{name}: {step.reason or step.outcome}{code} {seconds(took)}".rstrip()
    if step.phase == "held":
        return f"{name}: HELD ({step.hold_reason})"
    if step.phase == "running" and step.started_at and now is not None:
        return f"{name}: running {seconds(now - step.started_at)}"
    return f"{name}: {step.phase}"


def task_line(task: TaskView, tasks: tuple[TaskView, ...], now: float | None) -> str:
    """One pipeline task: waiting (for which tasks), running, or its outcome with its duration and why."""
    label = f"task {task.name}" + (" (finally)" if task.is_finally else "")
    if task.phase == "done" or task.outcome:
        took = (task.finished_at - task.started_at) if task.finished_at and task.started_at else None
        why = ": ".join(p for p in (task.reason if task.reason != task.outcome else "", task.message) if p)
        return f"{label}: {task.outcome or 'done'} {seconds(took)}".rstrip() + (f" ({why})" if why else "")
    if task.phase == "running":
        running = seconds(now - task.started_at) if now is not None and task.started_at else ""
        return f"{label}: running {running}".rstrip()
    ended = {t.name for t in tasks if t.phase == "done" or t.outcome}
    waiting = [name for name in task.run_after if name not in ended]
    if waiting:
        return f"{label}: waiting for {', '.join(waiting)}"
    if task.is_finally and any(not t.is_finally and t.name not in ended for t in tasks):
        return f"{label}: waiting for the other tasks to end"
    return f"{label}: waiting"


def together_line(view: RunView) -> str:
    """The tasks running at the same time, when more than one is ("" otherwise)."""
    running = [t.name for t in view.tasks if t.phase == "running" and not t.outcome]
    return f"tasks running together: {', '.join(running)}" if len(running) > 1 else ""


def _sidecar_line(car: SidecarView, started_at: float | None) -> str:
    if car.phase == "ready" and car.ready_at and started_at:
        return f"sidecar {car.name}: ready after {seconds(car.ready_at - started_at)}"
    return f"sidecar {car.name}: {car.phase}{(' (' + car.reason + ')') if car.reason else ''}"


def _lines(view: RunView, now: float | None) -> list[tuple[str, str]]:
    """(key, line) of each thing shown: sidecars, then the tasks running together, then each task and its
    steps (indented under it in the live block; `task/step` as plain lines, where `now` is None)."""
    lines = [(f"c:{c.name}", _sidecar_line(c, view.started_at)) for c in view.sidecars]
    together = together_line(view)
    if view.tasks and (together or now is None):
        lines.append(("together", together))
    for task, steps in groups(view):
        if task is not None:
            lines.append((f"t:{task.name}", task_line(task, view.tasks, now)))
        for step in steps:
            if task is None:
                shown = step_line(step, now)
            elif now is None:
                shown = step_line(step, now, f"{task.name}/{own_name(step)}")
            else:
                shown = "  " + step_line(step, now, own_name(step))
            lines.append((f"s:{step.name}", shown))
    return lines


@dataclass
class Display:
    """Prints logs and progress; `live` redraws a status block on a terminal."""

    out: TextIO
    live: bool
    _drawn: int = 0
    _said: dict[str, str] = field(default_factory=dict)

    def log(self, label: str, lines: list[str]) -> None:
        if not lines:
            return
        self._erase()
        for line in lines:
            self.out.write(f"[{label}] {line}\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self._erase()
        self.out.write(f"doll: {text}\n")
        self.out.flush()

    def show(self, view: RunView) -> None:
        now = time.time()
        if self.live:
            self._erase()
            elapsed = seconds((view.finished_at or now) - view.started_at) if view.started_at else ""
            block = [f"-- doll run {elapsed} --", *("  " + line for _, line in _lines(view, now))]
            self.out.write("\n".join(block) + "\n")
            self._drawn = len(block)
            self.out.flush()
            return
        for key, summary in _lines(view, None):
            if self._said.get(key, "") != summary:
                self._said[key] = summary
                if summary:
                    self.out.write(f"doll: {summary}\n")
        self.out.flush()

    def _erase(self) -> None:
        if self.live and self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0
