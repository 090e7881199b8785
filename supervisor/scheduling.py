"""Which pipeline task goes next, and whether it runs or is skipped: Tekton's rules, decided on the run's state.

A DAG task's turn comes when every task in its `run_after` has ended; a finally task's when every DAG task
has (and its own run_after).  At its turn a task is skipped, in Tekton's order
(pipelinerunresolution.go, `ResolvedPipelineTask.skip` and `IsFinallySkipped`; pipelinerun_types.go
SkippingReason):

    StoppingSkip         a DAG task failed (not onError: continue): no new DAG task starts (IsStopping)
    ParentTasksSkip      a task it runs after was skipped, other than by its `when` (skipBecauseParentTaskWasSkipped)
    MissingResultsSkip   a result it uses is missing, and the producer was skipped by its `when`, or it is a
                         finally task, or it has onError: continue (skipBecauseResultReferencesAreMissing)
    WhenExpressionsSkip  one of its `when` expressions is false
    TasksTimedOutSkip    timeouts.tasks was reached (a DAG task); FinallyTimedOutSkip: timeouts.finally (finally)

A result the producer did not give, in any other case, fails the consuming task without running it (reason
InvalidTaskResultReference, naming the ref): Tekton fails the whole PipelineRun at once with that reason
(CheckMissingResultReferences); doll fails the task, and the run stops as for any failed task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from contracts.ref_values import Unresolved, form_of, substitute
from contracts.task_plans import WhenSpec
from supervisor.states import RunState
from supervisor.task_refs import MissingResult, RefLookup
from supervisor.task_states import TaskState

__all__ = ["Decision", "INVALID_REFERENCE", "decisions", "when_fails"]

INVALID_REFERENCE = "InvalidTaskResultReference"  # Tekton's PipelineRunReasonInvalidTaskResultReference


@dataclass(frozen=True)
class Decision:
    task: str
    action: Literal["start", "skip", "fail"]
    reason: str = ""
    message: str = ""
    values: dict[str, str] = field(default_factory=dict)  # start: each ref's value, as JSON text


def _turn_came(state: RunState, task: TaskState) -> bool:
    before = [state.task(n) for n in task.plan.run_after]
    if any(t is None or t.phase != "done" for t in before):
        return False
    return not task.is_finally or all(t.phase == "done" for t in state.tasks if not t.is_finally)


def decisions(state: RunState, lookup: RefLookup) -> list[Decision]:
    """What to do with each pending task whose turn has come (none for a TaskRun's one task)."""
    if not state.is_pipeline:
        return []
    return [_decide(state, task, lookup) for task in state.tasks
            if task.phase == "pending" and _turn_came(state, task)]


def _decide(state: RunState, task: TaskState, lookup: RefLookup) -> Decision:
    name = task.name
    if not task.is_finally:
        stopping = next((t for t in state.tasks if t.stops_the_run), None)
        if stopping is not None:
            return Decision(name, "skip", "StoppingSkip", f"task {stopping.name!r} {stopping.outcome.lower()}")
        parent = next((p for p in map(state.task, task.plan.run_after)
                       if p is not None and p.outcome == "Skipped" and p.reason != "WhenExpressionsSkip"), None)
        if parent is not None:
            return Decision(name, "skip", "ParentTasksSkip", f"task {parent.name!r} was skipped ({parent.reason})")
    try:
        values = {ref: lookup.json(ref) for ref in task.plan.refs}
        failing = when_fails(task.plan.when, lookup)
    except MissingResult as exc:
        if exc.when_skipped or task.is_finally or task.plan.on_error == "continue":
            return Decision(name, "skip", "MissingResultsSkip", str(exc))
        return Decision(name, "fail", INVALID_REFERENCE, str(exc))
    except Unresolved as exc:
        return Decision(name, "fail", INVALID_REFERENCE, str(exc))
    if failing:
        return Decision(name, "skip", "WhenExpressionsSkip", failing)
    if not task.is_finally and state.tasks_timed_out:
        return Decision(name, "skip", "TasksTimedOutSkip", "the pipeline's tasks timeout was reached")
    if task.is_finally and state.finally_timed_out:
        return Decision(name, "skip", "FinallyTimedOutSkip", "the pipeline's finally timeout was reached")
    return Decision(name, "start", values=values)


def _words(text: str, lookup: RefLookup, where: str) -> list[str]:
    """A `when` value: `$(R[*])` alone becomes the array's elements, anything else one text."""
    whole = lookup.pattern.fullmatch(text)
    if whole and whole.group(2) == "[*]":
        value = form_of(whole.group(0), "[*]", lookup.value(whole.group(1)))
        return value if isinstance(value, list) else [value]
    return [substitute(text, lookup.pattern, lookup.value, where)]


def when_fails(when: tuple[WhenSpec, ...], lookup: RefLookup) -> str:
    """Why the task's `when` expressions do not allow it ("" when they all hold): the first false one."""
    for i, spec in enumerate(when):
        where = f"when[{i}]"
        value = substitute(spec.input, lookup.pattern, lookup.value, f"{where}.input")
        values = [w for j, v in enumerate(spec.values) for w in _words(v, lookup, f"{where}.values[{j}]")]
        if (value in values) != (spec.operator == "in"):
            return (f"when expression {where} was false: input {spec.input!r} is {value!r}, "
                    f"{spec.operator} {values!r}")
    return ""
