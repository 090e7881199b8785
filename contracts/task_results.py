"""A task's results checked against their declared types once the run is over, as Tekton's controller does.

Tekton reads each result's text as a `ParamValue` (pkg/apis/pipeline/v1, ParamValue.UnmarshalJSON: an array
is JSON text starting with `[` that is a list of strings, an object one starting with `{` that maps strings
to strings, anything else a string), then fails the TaskRun with reason `TaskRunValidationFailed` when a
type differs from the declared one or an object lacks a declared property (pkg/reconciler/taskrun,
validateTaskRunResults).  Standard library only.
"""

from __future__ import annotations

import json

from contracts.plans import ResultSpec

__all__ = ["VALIDATION_FAILED", "value_type", "invalid_results"]

VALIDATION_FAILED = "TaskRunValidationFailed"  # Tekton's v1.TaskRunReasonFailedValidation


def _parsed(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def value_type(text: str) -> str:
    """The type Tekton reads in a result's text: array, object or string."""
    if text.startswith("["):
        value = _parsed(text)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "array"
    if text.startswith("{"):
        value = _parsed(text)
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return "object"
    return "string"


def invalid_results(specs: tuple[ResultSpec, ...], values: dict[str, str]) -> str:
    """Why the results fail their declarations (Tekton's message), or "" when they do not; a result never
    written is not checked (Tekton checks only the results a TaskRun emitted)."""
    mismatched, missing = [], []
    for spec in specs:
        text = values.get(spec.name)
        if text is None or spec.type == "string":
            continue
        found = value_type(text)
        if found != spec.type:
            mismatched.append(f' "{spec.name}": task result is expected to be "{spec.type}" type but was '
                              f'initialized to a different type "{found}"')
        elif spec.type == "object":
            keys = json.loads(text)
            lacking = [k for k in spec.properties if k not in keys]
            if lacking:
                missing.append(f"{spec.name}:[{' '.join(lacking)}]")
    if mismatched:
        return ("Provided results don't match declared results; may be invalid JSON or missing result "
                "declaration:" + ",".join(sorted(mismatched)))
    if missing:
        return f"missing keys for these results which are required in TaskResult's properties map[{' '.join(missing)}]"
    return ""
