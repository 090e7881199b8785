"""A pipeline task's `when` expressions (docs/pipelines.md "Guard Task execution using when expressions"): params
replaced, refs left as text for the supervisor, which decides them when the task's turn comes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts.task_plans import WhenSpec
from generator.errors import GenerateError
from generator.tekton.conditions import check_expression
from generator.tekton.pipelines.params import substitute, text
from generator.tekton.substituting import Key

__all__ = ["guards"]


def _one(raw: Any, where: str, known_variables: Mapping[Key, Any]) -> WhenSpec:
    check_expression(raw, where, "CEL when expressions need Tekton's CEL evaluator (use input, operator and "
                     "values)")
    values = raw["values"]
    replaced = substitute(values, known_variables, f"{where}.values")  # an element `$(params.a[*])` expands
    assert isinstance(replaced, list)
    return WhenSpec(input=text(raw["input"], known_variables, f"{where}.input"), operator=raw["operator"],
                    values=tuple(replaced))


def guards(raw: Any, where: str, known_variables: Mapping[Key, Any]) -> tuple[WhenSpec, ...]:
    """Every `when` expression of a pipeline task; all must hold for it to run."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    return tuple(_one(item, f"{where}[{i}]", known_variables) for i, item in enumerate(raw))
