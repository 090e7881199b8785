"""A step's `when` expressions, decided when the Pod is generated.

Tekton hands a step's `when` to its entrypoint, which checks it just before the step would run
(docs/stepactions.md, "Controlling Step Execution with `when` expressions"; pkg/entrypoint).  When every
input and value is known once params and context are substituted, that answer is already the generator's:
doll decides it here and leaves a false step out of the Pod.  What is only known at run time (another
step's results) and CEL are refused in one line.
"""

from __future__ import annotations

from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.substituting import Variables, expand, string

__all__ = ["OPERATORS", "check_expression", "false_when"]

OPERATORS = ("in", "notin")
_FIELDS = ("input", "operator", "values", "cel")


def check_expression(expression: Any, where: str, cel: str) -> None:
    """A `when` expression's fields (Tekton's WhenExpression.validate: operator in or notin, an input, values);
    `cel`: why a CEL expression is refused here."""
    if not isinstance(expression, dict):
        raise GenerateError(f"{where}: expected an object (input, operator, values)")
    if "cel" in expression:
        raise GenerateError(f"{where}.cel: {cel}")
    for key in expression:
        if key not in _FIELDS:
            raise GenerateError(f"{where}.{key}: not supported by doll")
    if expression.get("operator") not in OPERATORS:
        raise GenerateError(f"{where}.operator: {quote(expression.get('operator'))} is not in or notin")
    if not isinstance(expression.get("input"), str):
        raise GenerateError(f"{where}.input: expected a string, got {quote(expression.get('input'))}")
    values = expression.get("values")
    if not isinstance(values, list) or not values:
        raise GenerateError(f"{where}.values: expected a non-empty list of strings")


def _check(expression: Any, where: str) -> None:
    check_expression(expression, where, "CEL in a step's when is not supported by doll (write it as input, "
                     "operator and values)")
    text = repr(expression)
    if "$(steps." in text or "$(step." in text:
        raise GenerateError(f"{where}: a when on step results is decided at run time, which doll does not do "
                            "(doll decides a step's when from params and context when it generates the Pod)")


def false_when(raw: Any, variables: Variables, where: str) -> str:
    """"" when every expression holds (or there is none), else the first false one, as text for a warning."""
    if raw is None:
        return ""
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    for i, expression in enumerate(raw):
        ew = f"{where}[{i}]"
        _check(expression, ew)
        value = string(expression["input"], variables, f"{ew}.input")
        values = expand(expression["values"], variables, f"{ew}.values")
        holds = value in values if expression["operator"] == "in" else value not in values
        if not holds:
            return f"{quote(value)} {expression['operator']} {quote(values)}"
    return ""
