"""Tekton's `$(...)` variables: params, workspaces, results, context and step paths, replaced in place.

Only Tekton's own roots are variables; anything else (`$(date)` in a script) is shell and left alone.
An array or object param used as a whole element of `command` or `args` expands into several elements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from generator.errors import GenerateError

__all__ = ["EXPANDABLE", "Deferred", "Key", "ROOTS", "Variables", "expand", "known", "param_variables", "references",
           "string", "walk"]

ROOTS = ("params", "workspaces", "results", "context", "steps", "step", "tasks", "resources", "inputs",
         "outputs", "credentials", "finally", "artifacts")
_REFERENCE = re.compile(r"\$\(\s*(" + "|".join(ROOTS) + r")((?:\.[^.()\[\]\s\"']+|\[[^\]]*\])*)\s*\)")
_PART = re.compile(r"\.([^.()\[\]\s\"']+)|\[\s*(?:\"([^\"]*)\"|'([^']*)'|(\*|\d+))\s*\]")

Key = tuple[str, ...]
Variables = Mapping[Key, str | list[str] | dict[str, str]]
EXPANDABLE = ("command", "args")
_HINTS = {"tasks": "pipeline task results exist only in a Pipeline", "inputs": "v1alpha1 syntax",
          "outputs": "v1alpha1 syntax (PipelineResources)", "resources": "PipelineResources were removed from Tekton",
          "finally": "exists only in a Pipeline",
          "artifacts": "Tekton's artifacts (TEP-0147, alpha) are not supported by doll"}


def _key(root: str, body: str) -> Key:
    parts = [root]
    for match in _PART.finditer(body):
        dotted, dq, sq, index = match.groups()
        parts.append(dotted if dotted is not None else dq if dq is not None else sq if sq is not None
                     else f"[{index}]")
    return tuple(parts)


class Deferred(str):
    """A variable the wrapper replaces at run time (a step result, `$(steps.<step>.results.<name>)`): it stays a
    reference, spelled `$(steps.<step>.results.<name>)`, and so does its `[*]`, `[i]` or `.key` form."""


def references(text: str) -> list[tuple[str, Key]]:
    """Every Tekton variable in `text`: its text and its key (`$(params["a"][0])`: `("params", "a", "[0]")`)."""
    return [(m.group(0), _key(m.group(1), m.group(2))) for m in _REFERENCE.finditer(text)]


def _lookup(variables: Variables, match: re.Match[str], where: str) -> str | list[str] | dict[str, str]:
    key = _key(match.group(1), match.group(2))
    if key in variables:
        return variables[key]
    deferred = variables.get(key[:4])
    if len(key) == 5 and isinstance(deferred, Deferred):
        return Deferred(deferred[:-1] + (key[4] if key[4].startswith("[") else "." + key[4]) + ")")
    hint = _HINTS.get(key[0], "no such variable")
    if key[0] in ("step", "steps") and "artifacts" in key[1:3]:  # $(step.artifacts.path), $(steps.x.artifacts...)
        hint = _HINTS["artifacts"]
    if key[0] == "params" and len(key) > 1 and (key[:2] not in variables):
        hint = f"no param {key[1]!r}"
    if key[:2] == ("inputs", "params") and len(key) > 2 and ("params", key[2]) not in variables:
        hint = f"no param {key[2]!r}"
    raise GenerateError(f"{where}: {match.group(0)} cannot be resolved ({hint})")


def string(text: str, variables: Variables, where: str) -> str:
    """Replace every variable in `text`; an array or object here is an error."""
    def one(match: re.Match[str]) -> str:
        value = _lookup(variables, match, where)
        if not isinstance(value, str):
            raise GenerateError(f"{where}: {match.group(0)} is an array or object; it can only be a whole "
                                "element of command or args")
        return value
    return _REFERENCE.sub(one, text)


def expand(items: list[Any], variables: Variables, where: str) -> list[str]:
    out: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise GenerateError(f"{where}[{i}]: {item!r} is not a string")
        match = _REFERENCE.fullmatch(item.strip())
        if match:
            value = _lookup(variables, match, f"{where}[{i}]")
            if isinstance(value, list):
                out.extend(value)
                continue
            if isinstance(value, dict):
                raise GenerateError(f"{where}[{i}]: {match.group(0)} is an object param; use its keys, "
                                    "$(params.NAME.KEY)")
        out.append(string(item, variables, f"{where}[{i}]"))
    return out


def walk(value: Any, variables: Variables, where: str, expandable: tuple[str, ...] = ()) -> Any:
    """Substitute in every string of a YAML tree; lists under an `expandable` key expand arrays."""
    if isinstance(value, str):
        return string(value, variables, where)
    if isinstance(value, list):
        return [walk(v, variables, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            w = f"{where}.{k}"
            out[k] = expand(v, variables, w) if k in expandable and isinstance(v, list) else walk(v, variables, w)
        return out
    return value


def param_variables(values: Mapping[str, str | list[str] | dict[str, str]]) -> dict[Key, Any]:
    """Every way to name a param: params.x, params["x"] (parsed alike), [*], [i], .key, and Tekton's
    still-accepted `inputs.params.x`."""
    out: dict[Key, Any] = {}
    for name, value in values.items():
        out[("params", name)] = value
        if isinstance(value, list):
            out[("params", name, "[*]")] = value
            for i, item in enumerate(value):
                out[("params", name, f"[{i}]")] = item
        elif isinstance(value, dict):
            for k, item in value.items():
                out[("params", name, k)] = item
    out.update({("inputs", *key): value for key, value in list(out.items())})
    return out


def known(value: Any, variables: Variables) -> Any:
    """Replace, in every string of a YAML tree (an object's keys too), each variable that `variables` holds as
    a string, and leave any other as written: Tekton's substitution.ApplyReplacements (a strings.Replacer
    over the known names)."""
    if isinstance(value, str):
        def one(match: re.Match[str]) -> str:
            found = variables.get(_key(match.group(1), match.group(2)))
            return found if isinstance(found, str) else match.group(0)
        return _REFERENCE.sub(one, value)
    if isinstance(value, list):
        return [known(v, variables) for v in value]
    if isinstance(value, dict):
        return {known(k, variables): known(v, variables) for k, v in value.items()}
    return value
