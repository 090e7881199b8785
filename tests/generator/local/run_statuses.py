"""RunStatus documents (contracts/status.py) as the supervisor writes them, for `doll run`'s view tests: a
PipelineRun's tasks and their steps, each built from a few named facts and the rest at its default."""

from __future__ import annotations

from typing import Any

from contracts.status import RunStatus, StepStatus, TaskStatus

AT = 1_795_937_716.0  # the run's start


def step(task: str, name: str, phase: str = "pending", outcome: str = "", reason: str = "",
         exit_code: int | None = None, started: float | None = None, finished: float | None = None,
         results: dict[str, str] | None = None, index: int = 0) -> StepStatus:
    """The plan step `<task>-<name>` of a pipeline task (`task` "": a TaskRun's step `name`); times from AT."""
    return {"name": f"{task}-{name}" if task else name, "task": task, "index": index, "on_error": "stopAndFail",
            "breakpoint_before": False, "phase": phase, "outcome": outcome, "reason": reason,
            "exit_code": exit_code, "message": "", "results": results or {}, "announced_at": None,
            "released_at": None if started is None else AT + started,
            "started_at": None if started is None else AT + started,
            "finished_at": None if finished is None else AT + finished, "handoff_seconds": None, "stopping": "",
            "hold_reason": "", "held_at": None, "wait_seconds": None,
            "duration_seconds": None if started is None or finished is None else finished - started}


def done(task: str, name: str, started: float, finished: float, exit_code: int = 0,
         results: dict[str, str] | None = None) -> StepStatus:
    """A step that ran from `started` to `finished` and exited `exit_code`."""
    return step(task, name, "done", "succeeded" if exit_code == 0 else "failed",
                "Completed" if exit_code == 0 else "Error", exit_code, started, finished, results)


def task(name: str, phase: str = "pending", outcome: str = "", reason: str = "", message: str = "",
         started: float | None = None, finished: float | None = None, run_after: tuple[str, ...] = (),
         is_finally: bool = False, results: tuple[str, ...] = ()) -> TaskStatus:
    return {"name": name, "display_name": "", "matrix": "", "is_finally": is_finally, "run_after": list(run_after),
            "phase": phase, "outcome": outcome, "reason": reason, "message": message,
            "started_at": None if started is None else AT + started,
            "finished_at": None if finished is None else AT + finished,
            "duration_seconds": None if started is None or finished is None else finished - started,
            "results": list(results)}


def run(steps: list[StepStatus], tasks: list[TaskStatus], outcome: str = "", reason: str = "",
        pipeline_results: tuple[str, ...] = (), **more: Any) -> dict[str, Any]:
    """The run's status; `more`: fields beyond the contract's (the values the supervisor would add)."""
    status: RunStatus = {
        "phase": "finished" if outcome else "running", "outcome": outcome, "reason": reason, "message": "",
        "cancel_reason": "", "started_at": AT, "finished_at": AT + 10 if outcome else None, "hold": None,
        "steps": steps, "tasks": tasks, "pipeline_results": list(pipeline_results), "sidecars": [], "holds": []}
    return {**status, **more}
