"""What a pipeline task gives its Task: params (the pipeline's replaced, refs left as text and shaped to the Task's
param types), when, matrix, workspaces, timeout, onError, displayName, and the tasks it waits for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.task_plans import WhenSpec
from generator.errors import GenerateError, quote
from generator.tekton.durations import seconds
from generator.tekton.pipelines.guards import guards
from generator.tekton.pipelines.matrix import Combination, combinations
from generator.tekton.pipelines.params import given, substitute, text
from generator.tekton.pipelines.refs import Known, Ref, check
from generator.tekton.pipelines.tasks import Written
from generator.tekton.pipelines.workspaces import Binding, mapped, propagated
from generator.tekton.resolving import Value, declarations
from generator.tekton.specs import ParamValue
from generator.tekton.substituting import Key

__all__ = ["Bound", "Scope", "bind"]


@dataclass(frozen=True)
class Scope:
    """What every pipeline task is bound against."""

    variables: Mapping[Key, Any]  # params.*, context.*, workspaces.<w>.bound, tasks.<t>.matrix.length
    known: Known
    values: Mapping[str, Value]  # the pipeline's params (propagated into embedded specs)
    workspaces: Mapping[str, Binding | None]
    embedded: bool  # an embedded pipelineSpec: its workspaces propagate into embedded taskSpecs


@dataclass(frozen=True)
class Bound:
    written: Written
    params: tuple[ParamValue, ...]
    deps: tuple[str, ...]  # the pipeline tasks it waits for (origin names), as first met
    when: tuple[WhenSpec, ...] = ()
    combos: tuple[Combination, ...] = ()  # a matrix's combinations (none: not matrixed)
    timeout_seconds: float | None = None
    timeout_given: bool = False
    on_error: str = "stopAndFail"
    display_name: str = ""
    workspaces: tuple[Binding, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    refs: tuple[Ref, ...] = field(default_factory=tuple)


def _shaped(value: Value, kind: str, properties: Mapping[str, Any], refs: list[Ref], known: Known,
            where: str) -> Value:
    """A value that is exactly one whole result ref, given to an array or object param: Tekton replaces it with the
    array or object (ParamValue.ApplyReplacements); here it stays text, shaped as parts.PipelineTask says."""
    if not isinstance(value, str) or len(refs) != 1 or refs[0].text != value.strip() or not refs[0].result:
        return value
    ref = refs[0]
    if ref.rest not in ((), ("[*]",)):
        return value
    if kind == "array":
        return [f"$(tasks.{ref.task}.results.{ref.result}[*])"]
    if kind == "object":
        result = next(r for r in known.results[ref.task] if r.name == ref.result)
        keys = result.properties or tuple(properties)
        if not keys:
            raise GenerateError(f"{where}: {value}: neither result {quote(ref.result)} nor the param declares "
                                "properties (an object param given a whole result needs its keys)")
        return {k: f"$(tasks.{ref.task}.results.{ref.result}.{k})" for k in keys}
    return value


def _params(w: Written, scope: Scope, refs: list[Ref]) -> tuple[ParamValue, ...]:
    decls = {d["name"]: (kind, d.get("properties") or {}) for d, kind, _ in declarations(w.task, w.task_where)}
    out = []
    for name, raw, pw in given(w.raw.get("params"), f"{w.where}.params"):
        value = substitute(raw, scope.variables, f"{pw}.value")
        own = check(value, f"{pw}.value", scope.known, w.is_finally)
        refs.extend(own)
        out.append(ParamValue(name, _shaped(value, *decls.get(name, ("", {})), own, scope.known, f"{pw}.value"), pw))
    if w.embedded:  # docs/pipelineruns.md "Propagated Parameters": the task's own params win (propagateParams)
        names = {p.name for p in out}
        out.extend(ParamValue(n, v, f"{w.where}: propagated param {n}") for n, v in scope.values.items()
                   if n not in names)
    return tuple(out)


def _run_after(w: Written, known: Known) -> list[str]:
    raw = w.raw.get("runAfter")
    if raw is None:
        return []
    if w.is_finally:  # validateFinalTasks
        raise GenerateError(f"{w.where}.runAfter: a finally task has no runAfter (it runs after every task)")
    if not isinstance(raw, list):
        raise GenerateError(f"{w.where}.runAfter: expected a list of task names")
    for i, name in enumerate(raw):
        if name not in known.results:
            raise GenerateError(f"{w.where}.runAfter[{i}]: no task named {quote(name)}")
        if name in known.finally_tasks:
            raise GenerateError(f"{w.where}.runAfter[{i}]: {quote(name)} is a finally task (finally tasks run "
                                "after every other task)")
    return list(raw)


def _options(w: Written) -> tuple[float | None, bool, str]:
    """(timeout, timeout given, onError); `retries` is refused."""
    retries = w.raw.get("retries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise GenerateError(f"{w.where}.retries: {quote(retries)} is not a count")
    if retries:
        raise GenerateError(f"{w.where}.retries: {retries}: not supported (a Pod cannot run a container again once "
                            "it has exited, and a task's steps are its containers)")
    on_error = w.raw.get("onError", "stopAndFail")
    if on_error not in ("continue", "stopAndFail"):
        raise GenerateError(f"{w.where}.onError: {quote(on_error)} is not continue or stopAndFail")
    if "timeout" not in w.raw:
        return None, False, on_error
    return seconds(w.raw["timeout"], f"{w.where}.timeout"), True, on_error


def bind(w: Written, scope: Scope) -> Bound:
    refs: list[Ref] = []
    params = _params(w, scope, refs)
    when = guards(w.raw.get("when"), f"{w.where}.when", scope.variables)
    for i, spec in enumerate(when):
        refs.extend(check([spec.input, *spec.values], f"{w.where}.when[{i}]", scope.known, w.is_finally))
    combos: list[Combination] = []
    if w.raw.get("matrix") is not None:
        combos = combinations(w.raw["matrix"], f"{w.where}.matrix", scope.variables, {p.name for p in params})
        for c in combos:
            refs.extend(check(c, f"{w.where}.matrix", scope.known, w.is_finally))
    display = w.raw.get("displayName", "")
    if not isinstance(display, str):
        raise GenerateError(f"{w.where}.displayName: {quote(display)} is not a string")
    display = text(display, scope.variables, f"{w.where}.displayName")
    extra = propagated(w.task, w.raw.get("workspaces"), scope.workspaces) if w.embedded and scope.embedded else ()
    bindings, sources = mapped(w.raw.get("workspaces"), f"{w.where}.workspaces", scope.workspaces, scope.variables,
                               extra)
    timeout, given_timeout, on_error = _options(w)
    deps = dict.fromkeys([*_run_after(w, scope.known), *(r.task for r in refs if r.task)])
    return Bound(written=w, params=params, deps=tuple(deps), when=when, combos=tuple(combos),
                 timeout_seconds=timeout, timeout_given=given_timeout, on_error=on_error, display_name=display,
                 workspaces=bindings, sources=sources, refs=tuple(refs))
