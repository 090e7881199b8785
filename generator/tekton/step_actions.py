"""StepActions: a step with `ref: {name: ...}` and `params:` becomes the StepAction it names, its params applied.

As Tekton's reconciler resolves it before anything else (pkg/reconciler/taskrun/resources/taskref.go
`resolveStepRef`, taskspec.go `GetStepActionsData`, apply.go `applyStepActionParameters`): the StepAction's
`$(params.<name>)` take the step's params, else the StepAction's defaults; then its image, securityContext and
workingDir replace the step's, and its command, args, script, env, volumeMounts and results do when it has
them; `ref` and `params` go.  What is left is an ordinary step: the task's own variables (its params,
workspaces, context, `$(step.results.<name>.path)`, an earlier step's `$(steps.<step>.results.<name>)`) are
replaced with the other steps' (preparing).  A step param may carry a task variable (`$(params.x)` of the
task): it lands in the step and is replaced there, as Tekton replaces the task's params in step params first.

StepActions come from the given files only (kind StepAction, tekton.dev/v1alpha1 or v1beta1), by name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.resolving import Value, coerce, declarations
from generator.tekton.specs import RawObject, Run
from generator.tekton.substituting import EXPANDABLE, Deferred, Key, expand, param_variables, references, walk

__all__ = ["ACTION_FIELDS", "REF_STEP_FIELDS", "resolve"]

ACTION_FIELDS = {"image", "command", "args", "script", "env", "params", "results", "workingDir", "securityContext",
                 "volumeMounts", "description"}
# what a step with `ref` may not give itself (Tekton's validateStep: "... cannot be used with Ref")
REF_STEP_FIELDS = ("image", "command", "args", "script", "workingDir", "env", "volumeMounts", "results")
_REPLACED = ("image", "securityContext", "workingDir")  # replaced even when the StepAction leaves them out
_IF_GIVEN = ("command", "args", "script", "env", "volumeMounts", "results")


class _ParamsOnly(Mapping[Key, Any]):
    """The StepAction's params, and every other variable kept as it is written (replaced later, with the task's).

    An array or object param given a step result, `$(steps.<step>.results.<name>)`, becomes that reference in its
    `[*]`, `[i]` or `.key` form (Tekton's replacementsFromStepResults), which the wrapper replaces at run time."""

    def __init__(self, params: Mapping[Key, Any], step_refs: Mapping[str, str]) -> None:
        self.params, self.step_refs = params, step_refs

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and (key in self.params or key[0] not in ("params", "inputs")
                                           or (len(key) == 3 and key[0] == "params" and key[1] in self.step_refs))

    def __getitem__(self, key: Key) -> Any:
        if key[0] == "params" and len(key) == 3 and key[1] in self.step_refs:
            base = self.step_refs[key[1]]
            return Deferred(f"$({base}{key[2] if key[2].startswith('[') else '.' + key[2]})")
        if key[0] in ("params", "inputs"):
            return self.params[key]
        parts = [p if p.startswith("[") else f'["{p}"]' if any(c in p for c in ".[]()") else "." + p
                 for p in key[1:]]
        return Deferred(f"$({key[0]}{''.join(parts)})")

    def __iter__(self) -> Iterator[Key]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)


def _action(run: Run, ref: Any, where: str) -> tuple[RawObject, str]:
    for key in ref if isinstance(ref, dict) else ():
        if key != "name":
            raise GenerateError(f"{where}.ref.{key}: not supported (doll takes StepActions from the given files, "
                                "by name)")
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref["name"]:
        raise GenerateError(f"{where}.ref.name: missing")
    for doc, doc_where in run.step_actions:
        if isinstance(doc.get("metadata"), dict) and doc["metadata"].get("name") == ref["name"]:
            spec = doc.get("spec")
            if not isinstance(spec, dict):
                raise GenerateError(f"{doc_where}: spec: expected an object")
            for key in spec:
                if key not in ACTION_FIELDS:
                    raise GenerateError(f"{doc_where}: spec.{key}: not supported by doll")
            if not spec.get("image"):
                raise GenerateError(f"{doc_where}: spec.image: missing")
            return spec, f"{doc_where}: spec"
    raise GenerateError(f"{where}.ref.name: StepAction {quote(ref['name'])} is not among the given files")


def _step_ref(value: Any) -> str:
    """`steps.<step>.results.<name>` when `value` is exactly that reference, else ""."""
    found = references(value) if isinstance(value, str) else []
    if len(found) == 1 and found[0][0] == value.strip() and len(found[0][1]) == 4 and found[0][1][0] == "steps":
        return ".".join(found[0][1])
    return ""


def _task_value(value: Any, task_params: Mapping[Key, Any], where: str) -> Any:
    """A step param's value with the task's params in it, as Tekton replaces them first (applyStepActionParameters:
    getTaskParameters): a whole `$(params.x)` of an array or object param is that array or object."""
    variables = _ParamsOnly(task_params, {})
    found = references(value) if isinstance(value, str) else []
    if len(found) == 1 and found[0][0] == value.strip() and found[0][1][0] == "params":
        whole = task_params.get(found[0][1])
        if whole is not None and not isinstance(whole, str):
            return whole
    if isinstance(value, list):
        return expand(value, variables, where)
    return walk(value, variables, where)


def _params(step: RawObject, action: RawObject, where: str, action_where: str,
            step_refs: dict[str, str], task_params: Mapping[Key, Any]) -> dict[str, Value]:
    """name -> value of each of the StepAction's params: the step's, else the default (array and object params
    given a step result go to `step_refs` instead)."""
    decls = {d["name"]: (d, kind, pw) for d, kind, pw in declarations(action, action_where)}
    given = step.get("params") or []
    if not isinstance(given, list):
        raise GenerateError(f"{where}.params: expected a list")
    values: dict[str, Value] = {}
    for i, p in enumerate(given):
        pw = f"{where}.params[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or "value" not in p:
            raise GenerateError(f"{pw}: expected {{name, value}}")
        if p["name"] not in decls:
            known = ", ".join(sorted(decls)) or "none"
            raise GenerateError(f"{pw}.name: the StepAction has no param {quote(p['name'])} (it declares: {known})")
        if decls[p["name"]][1] != "string" and _step_ref(p["value"]):
            step_refs[p["name"]] = _step_ref(p["value"])
            continue
        value = _task_value(p["value"], task_params, f"{pw}.value")
        values[p["name"]] = coerce(decls[p["name"]][1], value, f"{pw}.value")
    for name, (decl, kind, pw) in decls.items():
        if name in step_refs:
            continue
        if name not in values:
            if "default" not in decl:
                raise GenerateError(f"{where}.params: StepAction param {quote(name)} has no value and no default")
            values[name] = coerce(kind, decl["default"], f"{pw}.default")
        if kind == "object" and isinstance(values[name], dict) and isinstance(decl.get("default"), dict):
            values[name] = {**{str(k): str(v) for k, v in decl["default"].items()}, **values[name]}  # type: ignore
    return values


def _resolve_step(run: Run, step: RawObject, where: str, task_params: Mapping[Key, Any]) -> RawObject:
    for key in REF_STEP_FIELDS:
        if key in step:
            raise GenerateError(f"{where}.{key}: cannot be used with ref (it comes from the StepAction)")
    action, action_where = _action(run, step["ref"], where)
    step_refs: dict[str, str] = {}
    values = _params(step, action, where, action_where, step_refs, task_params)
    variables = _ParamsOnly(param_variables(values), step_refs)
    body = {k: v for k, v in action.items() if k not in ("params", "description")}
    body = walk(body, variables, action_where, EXPANDABLE)
    resolved = {k: v for k, v in step.items() if k not in ("ref", "params")}
    for key in _REPLACED:
        resolved.pop(key, None)
        if key in body:
            resolved[key] = body[key]
    resolved.update({key: body[key] for key in _IF_GIVEN if body.get(key)})
    return resolved


def resolve(run: Run, task_params: Mapping[Key, Any]) -> Run:
    """The run with every step that names a StepAction replaced by the step it makes (`task_params`: the task's
    params as variables, substituting.param_variables)."""
    steps = run.task.get("steps")
    if not isinstance(steps, list) or not any(isinstance(s, dict) and "ref" in s for s in steps):
        return run
    where = f"{run.task_where}.steps"
    resolved = [_resolve_step(run, s, f"{where}[{i}]", task_params) if isinstance(s, dict) and "ref" in s else s
                for i, s in enumerate(steps)]
    return dataclasses.replace(run, task={**run.task, "steps": resolved})
