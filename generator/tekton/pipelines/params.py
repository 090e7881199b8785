"""A Pipeline's params: their values, and their replacement in what a pipeline task gives (its params, matrix,
when, displayName and workspace subPaths: docs/variables.md "Fields that accept variable substitutions").

As Tekton's ApplyParameters / ApplyContexts (pkg/reconciler/pipelinerun/resources/apply.go): a param or context
variable is replaced where it stands; `$(tasks.X.results.Y...)` and anything else is left as written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.resolving import Value, resolve, scalar
from generator.tekton.specs import ParamValue, RawObject, Run
from generator.tekton.substituting import Key, known, param_variables, references

__all__ = ["CONTEXT", "given", "pipeline_values", "substitute", "text", "variables"]

# the context roots a Pipeline knows (validatePipelineContextVariables)
CONTEXT = ("pipelineRun", "pipeline", "pipelineTask")


def pipeline_values(spec: RawObject, where: str, params: tuple[ParamValue, ...], run_where: str,
                    embedded: bool) -> dict[str, Value]:
    """Each declared param's value (defaults, types, enums as for a Task: resolving.resolve); an embedded
    pipelineSpec also takes the PipelineRun's undeclared params (docs/pipelineruns.md "Propagated Parameters")."""
    declared = Run(task={"params": spec.get("params") or []}, task_where=where, task_name="", run_where=run_where,
                   name="", namespace="", uid="", params=params, embedded=embedded)
    return resolve(declared)


def variables(values: Mapping[str, Value], context: Mapping[str, str], bound: Mapping[str, bool]) -> dict[Key, Any]:
    """params.*, context.pipelineRun.*, context.pipeline.name, context.pipelineTask.retries and
    workspaces.<w>.bound (docs/variables.md "Variables available in a Pipeline")."""
    out: dict[Key, Any] = {k: v for k, v in param_variables(values).items() if k[0] != "inputs"}
    out.update({tuple(name.split(".")): value for name, value in context.items()})
    out.update({("workspaces", name, "bound"): "true" if is_bound else "false" for name, is_bound in bound.items()})
    return out


def text(value: str, known_variables: Mapping[Key, Any], where: str) -> str:
    """Params and context replaced in one string; an unknown param or context variable is an error."""
    for ref, key in references(value):
        checked = key[0] == "params" or (key[0] == "context" and len(key) > 1 and key[1] in CONTEXT)
        if checked and not isinstance(known_variables.get(key), str):
            if key[0] == "context":
                hint = "no such context variable in a Pipeline"
            elif key[:2] in known_variables:
                hint = "an array or object param: only a whole value can be one"
            else:
                hint = f"no param {key[1]!r}"
            raise GenerateError(f"{where}: {ref} cannot be resolved ({hint})")
    replaced: str = known(value, known_variables)
    return replaced


def _whole(value: str, known_variables: Mapping[Key, Any]) -> list[str] | dict[str, str] | None:
    """An array or object param given whole: `$(params.a[*])` (or `$(params.a)`)."""
    found = references(value.strip())
    if len(found) != 1 or found[0][0] != value.strip() or found[0][1][0] != "params":
        return None
    key = found[0][1][:-1] if found[0][1][-1] == "[*]" else found[0][1]
    whole = known_variables.get(key)
    return copy.deepcopy(whole) if isinstance(whole, (list, dict)) else None


def substitute(raw: Any, known_variables: Mapping[Key, Any], where: str) -> Value:
    """One param value (string, array or object) with params replaced: ParamValue.ApplyReplacements (a string
    that is exactly an array or object param becomes that array or object; an array's element that is exactly an
    array param expands into its elements)."""
    if isinstance(raw, list):
        out: list[str] = []
        for i, item in enumerate(raw):
            item = scalar(item, f"{where}[{i}]")
            whole = _whole(item, known_variables)
            if isinstance(whole, list):
                out.extend(whole)
            elif whole is not None:
                raise GenerateError(f"{where}[{i}]: {item} is an object param (an array holds strings)")
            else:
                out.append(text(item, known_variables, f"{where}[{i}]"))
        return out
    if isinstance(raw, dict):
        return {str(k): text(scalar(v, f"{where}.{k}"), known_variables, f"{where}.{k}") for k, v in raw.items()}
    item = scalar(raw, where)
    whole = _whole(item, known_variables)
    return whole if whole is not None else text(item, known_variables, where)


def given(raw: Any, where: str) -> list[tuple[str, Any, str]]:
    """(name, value, where) for each entry of a pipeline task's `params` (or a matrix's), names unique."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    out: list[tuple[str, Any, str]] = []
    for i, p in enumerate(raw):
        pw = f"{where}[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p["name"]:
            raise GenerateError(f"{pw}.name: missing")
        for key in p:
            if key not in ("name", "value"):
                raise GenerateError(f"{pw}.{key}: not supported by doll")
        if "value" not in p:
            raise GenerateError(f"{pw}.value: missing")
        if any(name == p["name"] for name, _, _ in out):
            raise GenerateError(f"{pw}.name: duplicate {quote(p['name'])}")
        out.append((p["name"], p["value"], pw))
    return out
