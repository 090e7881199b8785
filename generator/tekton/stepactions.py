"""StepActions: a step's `ref` replaced by the StepAction it names, with the step's params applied.

docs/stepactions.md: a step that references a StepAction may not give image, command, args, script, env or
volumeMounts (they are the StepAction's); it may give params, which the StepAction declares (types, defaults)
like a Task; the step's param values are substituted with the task's variables first, then the StepAction's
own `$(params.x)` with them (pkg/reconciler/taskrun/resources/apply.go applyStepActionParameters).  Only
StepActions given to doll alongside the Task are found (a `resolver` is refused: doll resolves nothing
remote).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.resolving import coerce, declarations, inferred
from generator.tekton.specs import RawObject
from generator.tekton.substituting import Key, param_variables, walk

__all__ = ["ACTION_FIELDS", "OWN_FIELDS", "inline"]

OWN_FIELDS = ("image", "command", "args", "script", "env", "volumeMounts")  # a referencing step may not give
ACTION_FIELDS = {*OWN_FIELDS, "params", "results", "securityContext", "workingDir", "description"}


def _check_ref(step: RawObject, where: str, actions: Mapping[str, tuple[RawObject, str]]) -> tuple[RawObject, str]:
    ref = step["ref"]
    if not isinstance(ref, dict):
        raise GenerateError(f"{where}.ref: expected an object")
    if "resolver" in ref or "params" in ref:
        raise GenerateError(f"{where}.ref: remote StepActions (resolver) are not supported: give the StepAction's "
                            "YAML to doll with the Task")
    for key in ref:
        if key != "name":
            raise GenerateError(f"{where}.ref.{key}: not supported by doll")
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        raise GenerateError(f"{where}.ref.name: missing")
    if name not in actions:
        raise GenerateError(f"{where}.ref.name: StepAction {quote(name)} is not among the given files")
    for key in OWN_FIELDS:
        if key in step:
            raise GenerateError(f"{where}.{key}: cannot be used with ref (the StepAction gives it)")
    return actions[name]


def _values(step: RawObject, where: str, action: RawObject, action_where: str,
            variables: Mapping[Key, Any]) -> dict[str, Any]:
    """name -> value of each StepAction param: the step's (task variables substituted), else the default."""
    given = step.get("params") or []
    if not isinstance(given, list):
        raise GenerateError(f"{where}.params: expected a list")
    decls = {d["name"]: (kind, d, pw) for d, kind, pw in declarations(action, action_where)}
    values: dict[str, Any] = {}
    for i, p in enumerate(given):
        pw = f"{where}.params[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or "value" not in p:
            raise GenerateError(f"{pw}: expected {{name, value}}")
        value = walk(p["value"], variables, f"{pw}.value")
        kind = decls[p["name"]][0] if p["name"] in decls else inferred(value)
        values[p["name"]] = coerce(kind, value, f"{pw}.value")
    for name, (kind, decl, pw) in decls.items():
        if name not in values:
            if "default" not in decl:
                raise GenerateError(f"{where}.params: StepAction param {quote(name)}: no value (declared at {pw})")
            values[name] = coerce(kind, decl["default"], f"{pw}.default")
    return values


def inline(step: RawObject, where: str, actions: Mapping[str, tuple[RawObject, str]],
           variables: Mapping[Key, Any]) -> tuple[RawObject, dict[Key, Any]]:
    """The step with its StepAction's fields in, and the StepAction's params as variables (over the task's:
    what the StepAction does not declare is the task's, as Tekton's later ApplyParameters makes it).  A step
    with no `ref` is returned as it is."""
    if "ref" not in step:
        if "params" in step:
            raise GenerateError(f"{where}.params: only a step with ref takes params (an inline step gets its "
                                "params from the TaskRun)")
        return step, {}
    action, action_where = _check_ref(step, where, actions)
    for key in action:
        if key not in ACTION_FIELDS:
            raise GenerateError(f"{action_where}.{key}: not supported by doll")
    own = param_variables(_values(step, where, action, action_where, variables))
    merged = {k: v for k, v in step.items() if k not in ("ref", "params")}
    merged.update({k: v for k, v in action.items() if k not in ("params", "description")})
    return merged, own
