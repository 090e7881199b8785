"""A pipeline task's `matrix`: its combinations in Tekton's fan-out order (docs/matrix.md; Matrix.FanOut in
pkg/apis/pipeline/v1/matrix_types.go), each a copy of the task named `<task>-<index>`.

The copies are fixed when the Pod is generated (each is its own containers), so a matrix over a whole array
result, whose length is known only at run time, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.pipelines.params import given, substitute
from generator.tekton.pipelines.refs import found
from generator.tekton.substituting import Key

__all__ = ["Combination", "combinations", "fan_out"]

Combination = dict[str, str]


def _array(value: Any, where: str, known_variables: Mapping[Key, Any]) -> list[str]:
    refs = found(value) if isinstance(value, str) else []
    if refs and value.strip() == refs[0][0] and len(refs) == 1:
        raise GenerateError(f"{where}: {value}: a matrix over a whole result cannot be fanned out by doll (its "
                            "length is known only at run time, and each copy of the task is its own containers, "
                            "fixed when the Pod is generated)")
    out = substitute(value, known_variables, where)
    if not isinstance(out, list):
        raise GenerateError(f"{where}: {quote(value)} is not an array (a matrix param takes an array)")
    return out


def fan_out(params: list[tuple[str, list[str]]], include: list[Combination]) -> list[Combination]:
    """Matrix.FanOut: each param distributes over the combinations so far (its values the outer loop), then each
    include combination overwrites the combinations it is compatible with, or is added when it matches none."""
    if include and not params:
        return [dict(c) for c in include]
    combos: list[Combination] = []
    for name, values in params:
        combos = [{name: v} for v in values] if not combos else \
            [{**c, name: v} for v in values for c in combos]
    for c in combos:  # overwriteCombinations
        for extra in include:
            if all(c.get(k, v) == v for k, v in extra.items()):
                c.update(extra)
    for extra in include:  # addNewCombinations
        if extra and not any(k in c and c[k] == v for c in combos for k, v in extra.items()):
            combos.append(dict(extra))
    return combos


def _include(raw: Any, where: str, known_variables: Mapping[Key, Any]) -> list[Combination]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    out = []
    for i, entry in enumerate(raw):
        iw = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise GenerateError(f"{iw}: expected an object")
        for key in entry:
            if key not in ("name", "params"):
                raise GenerateError(f"{iw}.{key}: not supported by doll")
        combo: Combination = {}
        for name, value, pw in given(entry.get("params"), f"{iw}.params"):
            text = substitute(value, known_variables, f"{pw}.value")
            if not isinstance(text, str):
                raise GenerateError(f"{pw}.value: {quote(value)} is not a string (an include param takes a string)")
            combo[name] = text
        out.append(combo)
    return out


def combinations(raw: Any, where: str, known_variables: Mapping[Key, Any],
                 task_params: set[str]) -> list[Combination]:
    """The combinations of a `matrix` (params replaced; refs to string results left as text)."""
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: expected an object")
    for key in raw:
        if key not in ("params", "include"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    params = [(name, _array(value, f"{pw}.value", known_variables))
              for name, value, pw in given(raw.get("params"), f"{where}.params")]
    include = _include(raw.get("include"), f"{where}.include", known_variables)
    for name in [n for n, _ in params] + [n for c in include for n in c]:
        if name in task_params:  # validateParameterInOneOfMatrixOrParams
            raise GenerateError(f"{where}: param {quote(name)} is given both in matrix and in params (give it once)")
    combos = fan_out(params, include)
    if not combos:
        raise GenerateError(f"{where}: no combination (an empty array): Tekton skips such a task; doll refuses it")
    return combos
