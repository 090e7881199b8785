"""The values of the refs between pipeline tasks, read from the run's state (contracts/task_plans.py names them).

    tasks.<t>.results.<r>   the result of a task that gave it; of a matrixed task (its copies' `matrix`): the
                            array of its copies' string values, in the plan's order (docs/matrix.md "Results")
    tasks.<t>.status        Succeeded | Failed | None (skipped or not run); of a matrixed task: Failed if a copy
                            failed, None if none ran, else Succeeded (docs/pipelines.md "Using Execution Status")
    tasks.status            Succeeded | Failed | Completed (some skipped) | None, over the DAG tasks

A result that is not there raises `MissingResult`, saying whether its producer was skipped by its `when`.
"""

from __future__ import annotations

import json
import re

from contracts.plans import Plan
from contracts.ref_values import Unresolved, Value, pattern_for, value_of
from contracts.task_plans import REF
from supervisor.states import RunState
from supervisor.task_states import TaskState

__all__ = ["MissingResult", "RefLookup", "ref_names"]


class MissingResult(Unresolved):
    def __init__(self, message: str, when_skipped: bool) -> None:
        super().__init__(message)
        self.when_skipped = when_skipped


_WRITTEN = re.compile(r"\$\((tasks\.[a-z0-9-]+\.(?:results\.[A-Za-z0-9_-]+|status)|tasks\.status)")


def ref_names(plan: Plan) -> set[str]:
    """Every ref a plan's texts may hold: each task's (and matrixed task's) status and declared results, and
    those written in its `when` expressions and Pipeline results (a result name there holds no dot)."""
    texts = [w.input for t in plan.tasks for w in t.when] + [v for t in plan.tasks for w in t.when for v in w.values]
    if plan.pipeline is not None:
        texts += [x for r in plan.pipeline.results for x in (r.text, *r.items, *(v for _, v in r.fields))]
    names = {"tasks.status"} | {ref for t in plan.tasks for ref in t.refs}
    names |= {m.group(1) for text in texts for m in _WRITTEN.finditer(text)}
    for task in plan.tasks:
        for owner in {task.name, task.matrix} - {""}:
            names.add(f"tasks.{owner}.status")
            names |= {f"tasks.{owner}.results.{r.name}" for r in task.results}
    return names


class RefLookup:
    """The refs' values in the run's state as it is now; made once per run (its pattern holds every ref name)."""

    def __init__(self, state: RunState, plan: Plan) -> None:
        self.state = state
        self.pattern: re.Pattern[str] = pattern_for(ref_names(plan))

    def _copies(self, name: str) -> list[TaskState]:
        one = self.state.task(name)
        return [one] if one is not None else [t for t in self.state.tasks if t.plan.matrix == name]

    def value(self, ref: str) -> Value:
        match = REF.match(ref)
        if match is None:
            raise Unresolved(f"$({ref}): not a task's result or status")
        if match.group("all"):
            return self._all_status()
        copies = self._copies(match.group("task"))
        if not copies:
            raise Unresolved(f"$({ref}): no task named {match.group('task')!r}")
        if match.group("status"):
            return self._status(copies)
        return self._result(ref, copies, match.group("result"), matrixed=self.state.task(match.group("task")) is None)

    def json(self, ref: str) -> str:
        return json.dumps(self.value(ref))

    def _result(self, ref: str, copies: list[TaskState], result: str, matrixed: bool) -> Value:
        values: list[str] = []
        for task in copies:
            if result not in task.results:
                skipped = task.outcome == "Skipped"
                why = f"was skipped ({task.reason})" if skipped else (
                    f"ended {task.outcome or 'without ending'} without it" if task.outcome != "Succeeded" else
                    "did not give it")
                raise MissingResult(f"$({ref}): task {task.name!r} {why}",
                                    when_skipped=skipped and task.reason == "WhenExpressionsSkip")
            values.append(task.results[result])
        if not matrixed:
            return value_of(values[0])
        return values

    @staticmethod
    def _status(copies: list[TaskState]) -> str:
        states = [t.ref_status for t in copies]
        if "Failed" in states:
            return "Failed"
        return "None" if all(s == "None" for s in states) else "Succeeded"

    def _all_status(self) -> str:
        dag = [t for t in self.state.tasks if not t.is_finally]
        if any(t.phase != "done" for t in dag):
            return "None"
        if any(t.ref_status == "Failed" for t in dag):
            return "Failed"
        return "Completed" if any(t.outcome == "Skipped" for t in dag) else "Succeeded"
