"""Reading a plan back from JSON: typed field access with the dataclass's own defaults, one-line errors.

Shared by contracts/plans.py (the task's plan) and contracts/task_plans.py (a pipeline's tasks); also home of
the task result's declared type (ResultSpec), which both use.  Standard library only.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields
from typing import Any

from contracts.errors import InputError

__all__ = ["DNS_LABEL", "NUM", "OPT_NUM", "PlanError", "RESULT_TYPES", "ResultSpec", "default", "get", "obj", "read_results", "strings"]

RESULT_TYPES = ("string", "array", "object")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a step's, sidecar's or task's name
NUM = (int, float)
OPT_NUM = (int, float, type(None))


class PlanError(InputError, ValueError):
    """A malformed or inconsistent plan; the text names the field: `steps[2].name: missing`."""


@dataclass(frozen=True)
class ResultSpec:
    """A task result as the Task declares it (Tekton's TaskResult): its value is checked once the run is over."""

    name: str
    type: str = "string"  # one of RESULT_TYPES
    properties: tuple[str, ...] = ()  # object: the keys its value must have


def obj(data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PlanError(f"{where}: expected an object, got {type(data).__name__}")
    return data


def default(cls: type, key: str) -> Any:
    """The dataclass's own default for `key` (the one place defaults are written), else ... (required)."""
    for f in fields(cls):
        if f.name == key:
            if f.default is not MISSING:
                return f.default
            if f.default_factory is not MISSING:
                return f.default_factory()
    return ...


def get(data: dict[str, Any], key: str, where: str, types: tuple[type, ...], cls: type | None = None) -> Any:
    """`data[key]` if it is one of `types`; missing: `cls`'s default for it, or PlanError if it has none."""
    if key not in data:
        value = ... if cls is None else default(cls, key)
        if value is ...:
            raise PlanError(f"{where}{key}: missing")
        return value
    value = data[key]
    if isinstance(value, bool) and bool not in types:
        raise PlanError(f"{where}{key}: expected {types[0].__name__}, got {value!r}")
    if not isinstance(value, types):
        raise PlanError(f"{where}{key}: expected {types[0].__name__}, got {value!r}")
    return value


def strings(data: dict[str, Any], key: str, where: str, cls: type) -> tuple[str, ...]:
    """A list of strings (missing: `cls`'s default)."""
    items = get(data, key, where, (list, tuple), cls)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise PlanError(f"{where}{key}[{i}]: expected str, got {item!r}")
    return tuple(items)


def read_results(raw: list[Any], where: str = "") -> tuple[ResultSpec, ...]:
    specs = []
    for i, item in enumerate(raw):
        r, w = obj(item, f"{where}results[{i}]"), f"{where}results[{i}]."
        specs.append(ResultSpec(name=get(r, "name", w, (str,)), type=get(r, "type", w, (str,), ResultSpec),
                                properties=strings(r, "properties", w, ResultSpec)))
    for i, spec in enumerate(specs):
        if spec.type not in RESULT_TYPES:
            raise PlanError(f"{where}results[{i}].type: unknown {spec.type!r}")
    return tuple(specs)
