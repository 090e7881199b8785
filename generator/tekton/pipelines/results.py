"""Results: those a pipeline task's Task declares (TaskPlan.results), and the Pipeline's own `results`, texts holding
refs the supervisor fills once the tasks are done (docs/pipelines.md "Emitting Results from a Pipeline";
validatePipelineResults, ApplyTaskResultsToPipelineResults)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from contracts.plans import RESULT_TYPES, ResultSpec
from contracts.task_plans import PipelineResultSpec
from generator.errors import GenerateError, quote
from generator.tekton.loading import RESULT_NAME, RESULT_RULE, declared_name
from generator.tekton.task_checks import result_names, result_specs
from generator.tekton.pipelines.refs import Known, check
from generator.tekton.specs import RawObject

__all__ = ["declared", "pipeline_results"]


def declared(task: RawObject, where: str) -> tuple[ResultSpec, ...]:
    """The results a Task declares, with their types, checked as the Task path checks them."""
    result_names(task, where)
    return result_specs(task, where)


def _as_tasks(value: Any) -> Any:
    """`$(finally.<task>.results.<name>)` is the same result as `$(tasks.<task>.results.<name>)` (both are looked up
    by task name in ApplyTaskResultsToPipelineResults)."""
    if isinstance(value, str):
        return value.replace("$(finally.", "$(tasks.")
    if isinstance(value, list):
        return [_as_tasks(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_tasks(v) for k, v in value.items()}
    return value


def _one(raw: Any, where: str, known: Known, seen: set[str]) -> PipelineResultSpec:
    name = declared_name(raw, where, RESULT_NAME, RESULT_RULE, seen, ("name", "type", "description", "value"))
    value = _as_tasks(raw.get("value"))
    kind = raw.get("type") or ("array" if isinstance(value, list) else "object" if isinstance(value, dict)
                               else "string")
    if kind not in ("string", "array", "object"):
        raise GenerateError(f"{where}.type: {quote(kind)} is not one of {', '.join(RESULT_TYPES)}")
    refs = check(value, f"{where}.value", known, is_finally=True)
    if not refs or any(not r.result for r in refs):
        raise GenerateError(f"{where}.value: {quote(raw.get('value'))}: expected task result references "
                            "($(tasks.<task>.results.<name>))")
    kind = cast(Literal["string", "array", "object"], kind)
    if isinstance(value, str):
        return PipelineResultSpec(name=name, type=kind, text=value)
    if isinstance(value, list) and kind == "array" and all(isinstance(v, str) for v in value):
        return PipelineResultSpec(name=name, type=kind, items=tuple(value))
    if isinstance(value, dict) and kind == "object" and all(isinstance(v, str) for v in value.values()):
        return PipelineResultSpec(name=name, type=kind, fields=tuple((str(k), v) for k, v in value.items()))
    raise GenerateError(f"{where}.value: {quote(raw.get('value'))} does not match type {kind}")


def pipeline_results(spec: RawObject, where: str, results: Mapping[str, tuple[ResultSpec, ...]]) -> \
        tuple[PipelineResultSpec, ...]:
    """The Pipeline's `results` (a finally task's results count: `$(finally.<task>.results.<name>)`)."""
    raw = spec.get("results") or []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}.results: expected a list")
    seen: set[str] = set()
    known = Known(results, frozenset())
    return tuple(_one(item, f"{where}.results[{i}]", known, seen) for i, item in enumerate(raw))
