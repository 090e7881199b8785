"""A Pipeline's part of the plan: its tasks (a DAG, then the finally tasks), their guards, refs and results.

A plain TaskRun's plan has no tasks: all its steps are one task.  A PipelineRun's plan has one `TaskPlan` per
pipeline task (one per matrix combination), each step naming its task (`StepPlan.task`); `Plan.tasks` lists
them in an order where every task comes after the tasks it runs after.

References between tasks are resolved at run time by the supervisor, never by the generator:

    ref names     tasks.<task>.results.<result>   a result of a finished task (of a matrixed task: the array
                                                   of its copies' values, in the copies' order)
                  tasks.<task>.status              Succeeded | Failed | None (skipped)   (finally tasks only)
                  tasks.status                     Succeeded | Failed | Completed | None (finally tasks only)
    in steps      each ref a task's steps use is in `TaskPlan.refs`; before the task's first step is released the
                  supervisor writes each value, as JSON, to `<channels dir>/step-<step>/values/<ref>` of every
                  step of that task (contracts.layout.value_path): the step's wrapper reads it from its own
                  channel (`--result-ref <ref>=/doll/channel/values/<ref>`) and replaces `$(<ref>)`,
                  `$(<ref>[*])`, `$(<ref>[i])`, `$(<ref>.key)` in its command, args, env and script.
    in `when`     input and values are texts holding `$(...)` refs; the supervisor replaces them when the task's
                  turn comes (a value exactly `$(<ref>[*])` becomes the array's elements).

Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from contracts.plan_reading import DNS_LABEL, OPT_NUM, PlanError, ResultSpec, get, obj, read_results, strings

__all__ = ["MAX_TASKS", "PipelinePlan", "PipelineResultSpec", "REF", "TaskPlan", "WhenOperator", "WhenSpec",
           "read_pipeline", "read_tasks", "validate_tasks"]

WhenOperator = Literal["in", "notin"]
MAX_TASKS = 256  # tasks (matrix copies included) one Pod may hold; the generator says so in one line
# a ref's name: tasks.<task>.results.<result> | tasks.<task>.status | tasks.status
REF = re.compile(r"^tasks\.(?:(?P<task>[a-z0-9]([-a-z0-9]*[a-z0-9])?)\.(?:results\.(?P<result>[A-Za-z0-9_.-]+)|"
                 r"(?P<status>status))|(?P<all>status))$")


@dataclass(frozen=True)
class WhenSpec:
    """One `when` expression of a pipeline task (params already replaced; refs left for the supervisor)."""

    input: str
    operator: WhenOperator
    values: tuple[str, ...]


@dataclass(frozen=True)
class TaskPlan:
    name: str  # the pipeline task's name; a matrix copy: <name>-<index>
    run_after: tuple[str, ...] = ()  # every task it waits for: runAfter, and the tasks whose results or status it uses
    is_finally: bool = False  # runs once every DAG task has ended, whatever their outcome
    when: tuple[WhenSpec, ...] = ()  # all must hold, else the task is skipped
    timeout_seconds: float | None = None  # the task's own timeout (its TaskRun's)
    on_error: Literal["continue", "stopAndFail"] = "stopAndFail"  # continue: its failure fails nothing else
    results: tuple[ResultSpec, ...] = ()  # its Task's declared results
    refs: tuple[str, ...] = ()  # the refs its steps use (written into each step's channel before it starts)
    display_name: str = ""
    matrix: str = ""  # a matrix copy: the pipeline task it was made from (its results are aggregated under it)


@dataclass(frozen=True)
class PipelineResultSpec:
    """A Pipeline result: texts holding refs, one (string), several (array) or keyed (object)."""

    name: str
    type: Literal["string", "array", "object"] = "string"
    text: str = ""  # string (or `$(tasks.x.results.y[*])` for an array)
    items: tuple[str, ...] = ()  # array
    fields: tuple[tuple[str, str], ...] = ()  # object


@dataclass(frozen=True)
class PipelinePlan:
    name: str = ""  # the Pipeline's name ("" for an embedded pipelineSpec)
    run: str = ""  # the PipelineRun's name
    tasks_timeout_seconds: float | None = None  # timeouts.tasks: the DAG tasks, from the run's start
    finally_timeout_seconds: float | None = None  # timeouts.finally: the finally tasks, from the first's start
    results: tuple[PipelineResultSpec, ...] = ()


def _when(raw: Any, where: str) -> WhenSpec:
    d = obj(raw, where.rstrip("."))
    operator = get(d, "operator", where, (str,))
    if operator not in ("in", "notin"):
        raise PlanError(f"{where}operator: unknown {operator!r}")
    return WhenSpec(input=get(d, "input", where, (str,)), operator=operator, values=strings(d, "values", where, WhenSpec)
                    if "values" in d else ())


def read_tasks(raw: list[Any]) -> tuple[TaskPlan, ...]:
    tasks = []
    for i, item in enumerate(raw):
        w = f"tasks[{i}]."
        t = obj(item, w[:-1])
        tasks.append(TaskPlan(
            name=get(t, "name", w, (str,)),
            run_after=strings(t, "run_after", w, TaskPlan),
            is_finally=get(t, "is_finally", w, (bool,), TaskPlan),
            when=tuple(_when(e, f"{w}when[{j}].") for j, e in enumerate(get(t, "when", w, (list,), TaskPlan))),
            timeout_seconds=get(t, "timeout_seconds", w, OPT_NUM, TaskPlan),
            on_error=get(t, "on_error", w, (str,), TaskPlan),
            results=read_results(get(t, "results", w, (list,), TaskPlan), w),
            refs=strings(t, "refs", w, TaskPlan),
            display_name=get(t, "display_name", w, (str,), TaskPlan),
            matrix=get(t, "matrix", w, (str,), TaskPlan),
        ))
    return tuple(tasks)


def _result(raw: Any, where: str) -> PipelineResultSpec:
    d = obj(raw, where.rstrip("."))
    kind = get(d, "type", where, (str,), PipelineResultSpec)
    if kind not in ("string", "array", "object"):
        raise PlanError(f"{where}type: unknown {kind!r}")
    pairs = get(d, "fields", where, (list, tuple), PipelineResultSpec)
    if any(not (isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, str) for x in p)) for p in pairs):
        raise PlanError(f"{where}fields: expected [key, text] pairs")
    return PipelineResultSpec(name=get(d, "name", where, (str,)), type=kind,
                              text=get(d, "text", where, (str,), PipelineResultSpec),
                              items=strings(d, "items", where, PipelineResultSpec),
                              fields=tuple((str(k), str(v)) for k, v in pairs))


def read_pipeline(raw: Any) -> PipelinePlan | None:
    if raw is None:
        return None
    d = obj(raw, "pipeline")
    w = "pipeline."
    return PipelinePlan(
        name=get(d, "name", w, (str,), PipelinePlan), run=get(d, "run", w, (str,), PipelinePlan),
        tasks_timeout_seconds=get(d, "tasks_timeout_seconds", w, OPT_NUM, PipelinePlan),
        finally_timeout_seconds=get(d, "finally_timeout_seconds", w, OPT_NUM, PipelinePlan),
        results=tuple(_result(r, f"{w}results[{i}].") for i, r in enumerate(get(d, "results", w, (list,), PipelinePlan))),
    )


def validate_tasks(tasks: tuple[TaskPlan, ...], step_tasks: list[str]) -> None:
    """The tasks against each other and against their steps (`step_tasks`: each step's task, in step order)."""
    if not tasks:
        if any(step_tasks):
            raise PlanError(f"steps[{next(i for i, t in enumerate(step_tasks) if t)}].task: the plan has no tasks")
        return
    if len(tasks) > MAX_TASKS:
        raise PlanError(f"tasks: {len(tasks)} (a Pod holds at most {MAX_TASKS})")
    seen: dict[str, TaskPlan] = {}
    for i, task in enumerate(tasks):
        w = f"tasks[{i}]"
        if not DNS_LABEL.match(task.name):
            raise PlanError(f"{w}.name: {task.name!r} is not a DNS-1123 label")
        if task.name in seen:
            raise PlanError(f"{w}.name: duplicate {task.name!r}")
        for j, before in enumerate(task.run_after):
            if before not in seen:  # the order is topological: what a task runs after comes before it
                known = any(t.name == before for t in tasks)
                raise PlanError(f"{w}.run_after[{j}]: {before!r} " + (
                    "comes after it (tasks must be listed after what they run after)" if known else "is no task"))
            if seen[before].is_finally and not task.is_finally:
                raise PlanError(f"{w}.run_after[{j}]: {before!r} is a finally task")
        if task.on_error not in ("continue", "stopAndFail"):
            raise PlanError(f"{w}.on_error: unknown {task.on_error!r}")
        if task.timeout_seconds is not None and task.timeout_seconds <= 0:
            raise PlanError(f"{w}.timeout_seconds: {task.timeout_seconds} (must be > 0)")
        for j, ref in enumerate(task.refs):
            if not REF.match(ref):
                raise PlanError(f"{w}.refs[{j}]: {ref!r} is not tasks.<task>.results.<name> or a status")
        seen[task.name] = task
    if [t.is_finally for t in tasks] != sorted(t.is_finally for t in tasks):  # False (DAG) before True (finally)
        raise PlanError("tasks: the finally tasks must come after every other task")
    _check_steps(tasks, step_tasks)


def _check_steps(tasks: tuple[TaskPlan, ...], step_tasks: list[str]) -> None:
    """Every step names a task; each task's steps are together, in the tasks' order; no task is empty."""
    order = [t.name for t in tasks]
    runs: list[str] = []
    for i, name in enumerate(step_tasks):
        if name not in order:
            raise PlanError(f"steps[{i}].task: {name!r} is no task of the plan")
        if not runs or runs[-1] != name:
            if name in runs:
                raise PlanError(f"steps[{i}].task: {name!r}'s steps are not together")
            runs.append(name)
    if runs != order:
        missing = [t for t in order if t not in runs]
        raise PlanError(f"tasks: {missing[0]!r} has no step" if missing else
                        "steps: not in the tasks' order")
