"""References between pipeline tasks, `$(tasks.X.results.Y...)`, `$(tasks.X.status)`, `$(tasks.status)`: found in
what a pipeline task gives, checked against the tasks and the results their Tasks declare, left as text.

Tekton's rules (pkg/apis/pipeline/v1/pipeline_validation.go): a result ref names a task of the pipeline and a
result its Task declares (resultrefresolution.go fails the run otherwise); a DAG task may not use a finally task's
results (validateTaskResultReferenceInFinallyTasks, dag.Build) nor any execution status
(validateExecutionStatusVariablesDisallowed); a finally task may use a DAG task's status
(validateExecutionStatusVariablesAllowed) and `$(tasks.status)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts.plans import ResultSpec
from generator.errors import GenerateError, quote
from generator.tekton.substituting import Key, references

__all__ = ["Known", "Ref", "check", "found"]


@dataclass(frozen=True)
class Known:
    """What the refs are checked against: every task's declared results, which are finally tasks."""

    results: Mapping[str, tuple[ResultSpec, ...]]  # task name -> its Task's declared results
    finally_tasks: frozenset[str]


@dataclass(frozen=True)
class Ref:
    text: str  # as written: $(tasks.build.results.digest[*])
    task: str  # "" for $(tasks.status)
    result: str = ""  # "" for a status
    rest: tuple[str, ...] = ()  # ("[*]",), ("[0]",), ("key",) or ()


def found(value: Any) -> list[tuple[str, Key]]:
    """Every `$(tasks....)` in a YAML value (strings, lists, objects)."""
    if isinstance(value, str):
        return [(text, key) for text, key in references(value) if key[0] == "tasks"]
    if isinstance(value, list):
        return [ref for item in value for ref in found(item)]
    if isinstance(value, dict):
        return [ref for item in value.values() for ref in found(item)]
    return []


def _result_ref(ref: str, key: Key, where: str, known: Known, is_finally: bool) -> Ref:
    task, result = key[1], key[3]
    if task not in known.results:
        raise GenerateError(f"{where}: {ref}: no task named {quote(task)} in the pipeline")
    if task in known.finally_tasks:
        who = "a finally task" if is_finally else "a task"
        raise GenerateError(f"{where}: {ref}: {quote(task)} is a finally task ({who} cannot use a finally task's "
                            "results)")
    declared = {r.name: r for r in known.results[task]}
    if result not in declared:
        names = ", ".join(sorted(declared)) or "none"
        raise GenerateError(f"{where}: {ref}: task {quote(task)} declares no result {quote(result)} "
                            f"(it declares: {names})")
    if len(key) > 5:
        raise GenerateError(f"{where}: {ref}: not a result reference (tasks.<task>.results.<name>[i] or .key)")
    return Ref(ref, task, result, key[4:])


def _status_ref(ref: str, key: Key, where: str, known: Known, is_finally: bool) -> Ref:
    if not is_finally:
        raise GenerateError(f"{where}: {ref}: only a finally task can use a task's execution status")
    task = key[1] if len(key) == 3 else ""
    if task and (task not in known.results or task in known.finally_tasks):
        raise GenerateError(f"{where}: {ref}: no task named {quote(task)} among the pipeline's tasks (a status is "
                            "a DAG task's)")
    return Ref(ref, task)


def check(value: Any, where: str, known: Known, is_finally: bool) -> list[Ref]:
    """The refs in `value`, each checked (one line naming the field and the ref otherwise)."""
    refs = []
    for ref, key in found(value):
        if key == ("tasks", "status") or (len(key) == 3 and key[2] == "status"):
            refs.append(_status_ref(ref, key, where, known, is_finally))
        elif len(key) >= 4 and key[2] == "results":
            refs.append(_result_ref(ref, key, where, known, is_finally))
        elif len(key) == 3 and key[2] == "reason":
            raise GenerateError(f"{where}: {ref}: not supported (doll gives a finally task $(tasks.<task>.status), "
                                "not the reason)")
        elif len(key) >= 3 and key[2] == "matrix":
            raise GenerateError(f"{where}: {ref}: not supported (doll gives no matrix lengths)")
        else:
            raise GenerateError(f"{where}: {ref}: not a result or status reference")
    return refs
