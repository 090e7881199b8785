"""Refs between pipeline tasks in a task's steps: found after substitution, handed to the step's wrapper.

Reading leaves `$(tasks.X.results.Y)` (and `[*]`, `[i]`, `.key`), `$(tasks.X.status)` and `$(tasks.status)` as text
in a task's params (contracts/task_plans.py); the Task translation substitutes them into its steps.  Here each is
found in a step's command, args, env values and script, its ref named (`tasks.X.results.Y`), checked (X is a task
this one runs after and declares Y; a status is read by a finally task only: Tekton's validateExecutionStatusVariables),
and given to the step's wrapper as `--result-ref <ref>=/doll/channel/values/<ref>` (contracts.layout.channel_value_path):
the supervisor writes the value there when the task's turn comes, and the wrapper replaces it then
(entrypoint/references.py), as for a step result.  Anywhere else (an image, a workingDir, a sidecar) nothing could
replace it at run time: refused in one line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from contracts.layout import channel_value_path
from contracts.plans import ResultSpec
from contracts.task_plans import TaskPlan
from generator.errors import GenerateError, quote
from generator.tekton.preparing import Prepared
from generator.tekton.substituting import Key, references

__all__ = ["Tasks", "tasks_of", "with_refs"]

_REPLACED = "a pipeline task's result or status reaches only a step's command, args, env and script"


@dataclass(frozen=True)
class Tasks:
    """What a ref may name: the tasks' declared results, the DAG's tasks, the matrix copies' pipeline tasks."""

    declared: Mapping[str, tuple[str, ...]]  # a task's name (a matrixed one's too) -> its declared results
    dag: frozenset[str]  # the tasks that are not finally tasks (matrixed ones by their own name too)
    matrices: Mapping[str, str]  # a matrix copy's name -> its pipeline task's


def tasks_of(plans: Sequence[TaskPlan], results: Sequence[Sequence[ResultSpec]]) -> Tasks:
    """`plans` and each one's declared results."""
    declared: dict[str, tuple[str, ...]] = {}
    for plan, specs in zip(plans, results):
        for name in (plan.name, plan.matrix):
            if name:
                declared[name] = tuple(r.name for r in specs)
    dag = frozenset(n for p in plans if not p.is_finally for n in (p.name, p.matrix) if n)
    return Tasks(declared, dag, {p.name: p.matrix for p in plans if p.matrix})


def _strings(value: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(where, value)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{where}.{k}")]
    return []


def _texts(spec: Mapping[str, Any], where: str, step: bool) -> list[tuple[str, str, bool]]:
    """(where, text, replaced at run time) for every string of a step or sidecar."""
    out: list[tuple[str, str, bool]] = []
    for key, value in spec.items():
        if key == "env" and isinstance(value, list):
            out += [(w, text, step and k == "value") for i, e in enumerate(value) if isinstance(e, dict)
                    for k, v in e.items() for w, text in _strings(v, f"{where}.env[{i}].{k}")]
        else:
            out += [(w, text, step and key in ("command", "args", "script")) for w, text in
                    _strings(value, f"{where}.{key}")]
    return out


def _ref(key: Key, declared: Mapping[str, tuple[str, ...]]) -> str | None:
    """The ref a `$(tasks...)` names (a result named `a.b` wins over result `a`'s key `b`), None if none."""
    if key[1:] == ("status",):
        return "tasks.status"
    if len(key) == 3 and key[2] == "status":
        return f"tasks.{key[1]}.status"
    if len(key) < 4 or key[2] != "results":
        return None
    parts = [p for p in key[3:] if not p.startswith("[")]
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in declared.get(key[1], ()):
            return f"tasks.{key[1]}.results.{'.'.join(parts[:n])}"
    return f"tasks.{key[1]}.results.{key[3]}"


def _check(ref: str, text: str, where: str, plan: TaskPlan, after: set[str], tasks: Tasks) -> None:
    """The ref names a task this one runs after (a finally task: any DAG task) and a result that task declares; a
    status is read by a finally task only."""
    parts = ref.split(".")
    status = len(parts) <= 3  # tasks.status, tasks.X.status (a result's ref has 4 parts or more)
    if status and not plan.is_finally:
        raise GenerateError(f"{where}: {text}: only a finally task can read a task's status")
    if len(parts) == 2:
        return
    task = parts[1]
    if task not in after and not (plan.is_finally and task in tasks.dag):
        raise GenerateError(f"{where}: {text}: task {quote(plan.name)} does not run after {quote(task)}")
    name = ".".join(parts[3:])
    if not status and name not in tasks.declared.get(task, ()):
        known = ", ".join(tasks.declared.get(task, ())) or "none"
        raise GenerateError(f"{where}: {text}: task {quote(task)} declares no result {quote(name)} (it declares: "
                            f"{known})")


def with_refs(plan: TaskPlan, steps: tuple[Prepared, ...], sidecars: tuple[Prepared, ...],
              tasks: Tasks) -> tuple[TaskPlan, tuple[Prepared, ...]]:
    """The task's plan with the refs its steps use, and its steps with a `--result-ref` for each one they use."""
    after = {*plan.run_after, *(tasks.matrices[t] for t in plan.run_after if t in tasks.matrices)}
    used: set[str] = set()
    out = []
    for p, is_step in [*((s, True) for s in steps), *((s, False) for s in sidecars)]:
        mine: set[str] = set()
        for where, text, replaced in _texts(p.spec, p.where, is_step):
            for found, key in references(text):
                if key[0] != "tasks":
                    continue
                ref = _ref(key, tasks.declared)
                if ref is None:
                    raise GenerateError(f"{where}: {found}: not a pipeline task's result or status")
                if not replaced:
                    raise GenerateError(f"{where}: {found}: {_REPLACED} (doll replaces it as the step starts)")
                _check(ref, found, where, plan, after, tasks)
                mine.add(ref)
        used |= mine
        if is_step:
            extra = tuple(f"{ref}={channel_value_path(ref)}" for ref in sorted(mine))
            out.append(dataclasses.replace(p, result_refs=p.result_refs + extra) if extra else p)
    return dataclasses.replace(plan, refs=tuple(sorted(used))), tuple(out)
