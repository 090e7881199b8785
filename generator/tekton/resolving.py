"""Resolving a task's params: declared types, defaults and enums against the values a run gives."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from generator.errors import GenerateError, quote
from generator.tekton.loading import declared_name
from generator.tekton.specs import RawObject, RawParamSpec, Run
from generator.warning import warn

__all__ = ["ParamType", "Value", "coerce", "declarations", "inferred", "resolve", "scalar"]

# Tekton's stringAndArrayVariableNameFormat and objectVariableNameFormat (an object's name has no dots)
_PARAM_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$")
_OBJECT_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")
ParamType = str  # "string" | "array" | "object"
Value = str | list[str] | dict[str, str]


def _declared_type(decl: RawParamSpec, where: str) -> str:
    kind = decl.get("type")
    if kind is None and decl.get("properties") is not None:  # as Tekton's ParamSpec.SetDefaults
        return "object"
    if kind is None:  # Tekton infers the type from the default
        default = decl.get("default")
        return "array" if isinstance(default, list) else "object" if isinstance(default, dict) else "string"
    if kind not in ("string", "array", "object"):
        raise GenerateError(f"{where}.type: {quote(kind)} is not string, array or object")
    return str(kind)


def scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise GenerateError(f"{where}: {quote(value)} is not a string")


def coerce(kind: str, value: Any, where: str, from_cli: bool = False) -> Value:
    """One value as the declared type; a CLI string may spell an array or object as JSON."""
    if from_cli and isinstance(value, str) and kind in ("array", "object"):
        text = value.strip()
        if kind == "array" and not text.startswith("["):
            return [v for v in value.split(",")] if value else []
        try:
            value = json.loads(text)
        except ValueError:
            raise GenerateError(f"{where}: {quote(value)} is not a JSON {kind}") from None
    if kind == "string":
        if isinstance(value, (list, dict)):
            raise GenerateError(f"{where}: type mismatch: {quote(value)} given for a string param")
        return scalar(value, where)
    if kind == "array":
        if not isinstance(value, list):
            raise GenerateError(f"{where}: type mismatch: {quote(value)} given for an array param")
        return [scalar(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):
        raise GenerateError(f"{where}: type mismatch: {quote(value)} given for an object param")
    return {str(k): scalar(v, f"{where}.{k}") for k, v in value.items()}


def inferred(value: Any) -> str:
    """A propagated param's type, from its value (Tekton's ParamValue unmarshalling)."""
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "string"


def declarations(task: RawObject, where: str) -> list[tuple[RawParamSpec, str, str]]:
    """(declaration, type, where) for each of the task's params, checked."""
    params = task.get("params", []) or []
    if not isinstance(params, list):
        raise GenerateError(f"{where}.params: expected a list")
    seen: set[str] = set()
    out = []
    for i, decl in enumerate(params):
        pw = f"{where}.params[{i}]"
        declared_name(decl, pw, _PARAM_NAME, "a param name (letters, digits, _ . -)", seen,
                      ("name", "type", "default", "enum", "description", "properties"))
        if decl.get("properties") is not None and not isinstance(decl["properties"], dict):
            raise GenerateError(f"{pw}.properties: expected an object, got {quote(decl['properties'])}")
        checked = cast(RawParamSpec, decl)  # every key is a known one, checked above
        kind = _declared_type(checked, pw)
        if kind == "object" and not _OBJECT_NAME.match(decl["name"]):
            raise GenerateError(f"{pw}.name: {quote(decl['name'])} is not an object param name (letters, digits, "
                                "_ -; no dots)")
        out.append((checked, kind, pw))
    return out


def resolve(run: Run) -> dict[str, Value]:
    """name -> value for every declared param; an unknown, missing or mistyped value is an error."""
    where = run.task_where
    decls = declarations(run.task, where)
    by_name = {d["name"]: (d, kind, pw) for d, kind, pw in decls}
    given: dict[str, Value] = {}
    values: dict[str, Value] = {}
    for p in run.params:
        if p.name in by_name:
            given[p.name] = coerce(by_name[p.name][1], p.value, p.where, from_cli=p.where.startswith("-p "))
        elif p.where.startswith("-p "):
            known = ", ".join(sorted(by_name)) or "none"
            raise GenerateError(f"{p.where}: unknown param {quote(p.name)} (the task declares: {known})")
        elif run.embedded:  # docs/taskruns.md "Propagated Parameters": an embedded spec need not declare them
            values[p.name] = coerce(inferred(p.value), p.value, p.where)
        else:  # as Tekton's validateParams: "extra params were passed to the task that aren't being used"
            warn(f"{p.where}: param {p.name!r} ignored (the task declares no such param)")
    for name, (decl, kind, pw) in by_name.items():
        if name in given:
            value = given[name]
        elif "default" in decl:
            value = coerce(kind, decl["default"], f"{pw}.default")
        else:
            hint = "-p" if not run.run_where else "spec.params"
            raise GenerateError(f"{run.run_where or where}: param {quote(name)}: no value (give it with {hint})")
        if kind == "object":
            props = decl.get("properties") or {}
            if isinstance(value, dict):
                defaults = decl.get("default") if isinstance(decl.get("default"), dict) else {}
                value = {**{str(k): str(v) for k, v in (defaults or {}).items()}, **value}
                missing = [k for k in props if k not in value]
                if missing:
                    raise GenerateError(f"{pw}: object param {quote(name)} lacks keys {missing}")
        enum = decl.get("enum")
        if enum is not None:
            if kind != "string" or not isinstance(enum, list):
                raise GenerateError(f"{pw}.enum: only a list on a string param is supported")
            if value not in [str(e) for e in enum]:
                raise GenerateError(f"{pw}: value {quote(value)} is not in enum {enum}")
        values[name] = value
    return values
