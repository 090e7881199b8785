"""A pipeline task's `when` expressions (docs/pipelines.md "Guard Task execution using when expressions"): params
replaced, refs left as text for the supervisor, which decides them when the task's turn comes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.task_plans import WhenSpec
from generator.errors import GenerateError, quote
from generator.tekton.pipelines.params import substitute, text
from generator.tekton.substituting import Key

__all__ = ["guards"]


def _one(raw: Any, where: str, known_variables: Mapping[Key, Any]) -> WhenSpec:
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: expected an object")
    if "cel" in raw:
        raise GenerateError(f"{where}.cel: CEL when expressions need Tekton's CEL evaluator (use input, operator "
                            "and values)")
    for key in raw:
        if key not in ("input", "operator", "values"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    operator = raw.get("operator")
    if operator not in ("in", "notin"):  # WhenExpression.validate: selection.In or selection.NotIn
        raise GenerateError(f"{where}.operator: {quote(operator)} is not in or notin")
    if not isinstance(raw.get("input"), str):
        raise GenerateError(f"{where}.input: missing")
    values = raw.get("values")
    if not isinstance(values, list) or not values:
        raise GenerateError(f"{where}.values: expected a non-empty list")
    replaced = substitute(values, known_variables, f"{where}.values")  # an element `$(params.a[*])` expands
    assert isinstance(replaced, list)
    return WhenSpec(input=text(raw["input"], known_variables, f"{where}.input"), operator=operator,
                    values=tuple(replaced))


def guards(raw: Any, where: str, known_variables: Mapping[Key, Any]) -> tuple[WhenSpec, ...]:
    """Every `when` expression of a pipeline task; all must hold for it to run."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    return tuple(_one(item, f"{where}[{i}]", known_variables) for i, item in enumerate(raw))
