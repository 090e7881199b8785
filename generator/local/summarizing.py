"""What `doll run` prints at the end: the table of the run's steps (a PipelineRun's grouped under their
tasks), its outcome, and the results: each task's, then the Pipeline's."""

from __future__ import annotations

import json

from generator.local.progress import clock, seconds
from generator.local.views import RunView, StepView, TaskView, groups, own_name, task_results

__all__ = ["RESULT_SHOWN_CHARS", "final_table"]

RESULT_SHOWN_CHARS = 200  # a longer result is shortened in the final table (--report has it in full)


def _result_line(name: str, value: str | None) -> str:
    """`name = value`; quoted as JSON when plain text would hide something (a newline, edge spaces, empty)."""
    if value is None:
        return f"  {name} (its value is not in the supervisor's status)"
    plain = bool(value) and value.isprintable() and value == value.strip()
    shown = value if plain else json.dumps(value, ensure_ascii=False)
    if len(shown) <= RESULT_SHOWN_CHARS:
        return f"  {name} = {shown}"
    return f"  {name} = {shown[:RESULT_SHOWN_CHARS]}... (shortened: {len(value)} characters in all)"


def _took(started_at: float | None, finished_at: float | None) -> str:
    return (seconds(finished_at - started_at) if finished_at is not None and started_at is not None else "") or "-"


def _step_row(step: StepView, name: str) -> tuple[str, ...]:
    return (name, clock(step.started_at), _took(step.started_at, step.finished_at),
            "-" if step.exit_code is None else str(step.exit_code), step.reason or step.outcome or step.phase)


def _task_row(task: TaskView) -> tuple[str, ...]:
    state = task.outcome or ("waiting" if task.phase == "pending" else task.phase)
    if task.reason and task.reason != task.outcome:
        state += f" ({task.reason})"
    return (task.name + (" (finally)" if task.is_finally else ""), clock(task.started_at),
            _took(task.started_at, task.finished_at), "-", state)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _outcome_line(kind: str, view: RunView) -> str:
    outcome = view.outcome or "Unknown"
    return f"{kind}: {outcome}{(' (' + view.reason + ')') if view.reason and view.reason != outcome else ''}"


def _task_run(view: RunView) -> str:
    """A TaskRun: one row per step: start, duration, exit code, reason; the outcome; the task's results."""
    rows = [("STEP", "START", "DURATION", "EXIT", "REASON")] + [_step_row(s, s.name) for s in view.steps]
    text = _table(rows) + "\n" + _outcome_line("task", view)
    results = task_results(view.steps)
    if results:
        text += "\nresults:\n" + "\n".join(_result_line(name, value) for name, value in results.items())
    return text


def _pipeline_run(view: RunView) -> str:
    """A PipelineRun: each task's row (its outcome and duration), its steps indented under it; the outcome and
    why each task that did not succeed did not; each task's results; the Pipeline's results."""
    rows: list[tuple[str, ...]] = [("TASK / STEP", "START", "DURATION", "EXIT", "OUTCOME")]
    for task, steps in groups(view):
        if task is not None:
            rows.append(_task_row(task))
        rows += [_step_row(s, "  " + own_name(s) if task is not None else s.name) for s in steps]
    lines = [_table(rows), _outcome_line("pipeline", view)]
    lines += [f"  {t.name}: {t.outcome or 'did not end'}: {t.message}" for t in view.tasks
              if t.message and t.outcome != "Succeeded"]
    for task, steps in groups(view):
        results = task_results(steps)
        if results:
            lines.append(f"results of {task.name if task is not None else 'steps in no task'}:")
            lines += [_result_line(name, value) for name, value in results.items()]
    if view.pipeline_results:
        lines.append("pipeline results:")
        lines += [_result_line(name, value) for name, value in view.pipeline_results.items()]
    return "\n".join(lines)


def final_table(view: RunView) -> str:
    return _pipeline_run(view) if view.tasks else _task_run(view)
