"""A pipeline's Runner in-process: tasks of one step each (`<task>-run`) unless told, a fake clock, fake wrappers."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from contracts import wire
from contracts.plans import Plan
from supervisor.logs import Log
from supervisor.runner import Runner
from supervisor.serving import Connection
from supervisor.states import RunState
from supervisor.timings import Timings
from test_runner import FakeTimers, Verdicts, Writer


def pipeline_plan(tasks: list[dict[str, Any]], steps: dict[str, list[str]] | None = None,
                  breakpoints: tuple[str, ...] = (), **plan: Any) -> Plan:
    """`tasks`: TaskPlan fields; `steps`: each task's step names (default one, `run`); `breakpoints`: the steps
    held before they start."""
    entries = [{"name": f"{t['name']}-{s}", "task": t["name"], "breakpoint_before": f"{t['name']}-{s}" in breakpoints}
               for t in tasks for s in (steps or {}).get(t["name"], ["run"])]
    return Plan.from_dict({
        "steps": [{"index": i, "container": f"step-{e['name']}", **e} for i, e in enumerate(entries)],
        "tasks": tasks, "run_dir": "/nonexistent", "steps_dir": "/nonexistent",
        "pipeline": {"run": "pr-1", **plan.pop("pipeline", {})}, **plan})


class PipelineRig:
    def __init__(self, tasks: list[dict[str, Any]], steps: dict[str, list[str]] | None = None,
                 channels: Path | None = None, **plan: Any) -> None:
        if channels is not None:
            plan["channels_dir"] = str(channels)
        self.plan = pipeline_plan(tasks, steps, **plan)
        self.timers, self.journal, self.verdicts = FakeTimers(), [], Verdicts()
        self.state = RunState.from_plan(self.plan)
        self.runner = Runner(self.plan, self.state, self.journal, Log(io.StringIO()), self.timers.clock,
                             timers=self.timers, verdicts=self.verdicts,
                             timings=Timings(lost_seconds=5.0, handoff_quiet_seconds=0.0))
        self.conns: dict[str, Connection] = {}
        self.writers: dict[str, Writer] = {}

    def begin(self) -> PipelineRig:
        self.runner.begin()
        for step in self.plan.steps:  # every step of a pipeline Pod waits for the supervisor
            writer = Writer()
            conn = Connection(writer)  # type: ignore[arg-type]
            conn.kind, conn.name = "step", step.name
            self.conns[step.name], self.writers[step.name] = conn, writer
            self.runner.on_message(conn, wire.Hello(kind="step", name=step.name, index=step.index, pid=1))
        return self

    def finish(self, step: str, exit_code: int = 0, results: dict[str, str] | None = None) -> None:
        self.runner.on_message(self.conns[step], wire.Finished(
            name=step, exit_code=exit_code, reason="Completed" if exit_code == 0 else "Error",
            started_at=self.timers.now, finished_at=self.timers.now, results=results or {}))
        self.timers.advance(0.0)  # the hand-off's quiet window

    def running(self) -> set[str]:
        """The steps released and not done."""
        return {s.name for s in self.state.steps if s.phase in ("released", "running")}

    def task(self, name: str) -> tuple[str, str]:
        task = self.state.task(name)
        assert task is not None
        return task.outcome, task.reason

    def message(self, name: str) -> str:
        task = self.state.task(name)
        assert task is not None
        return task.message

    def ops(self, step: str) -> list[str]:
        return [m.op for m in self.writers[step].sent]


def value(channels: Path, step: str, ref: str) -> Any:
    return json.loads((channels / f"step-{step}" / "values" / ref).read_text())
