"""A Task run's own checks: its fields, results, breakpoints, variables, the steps whose `when` holds, probes."""

from __future__ import annotations

import json
from typing import Any

from contracts.layout import RESULTS_DIR
from contracts.plans import RESULT_TYPES, ProbeSpec, ResultSpec
from generator.errors import GenerateError, quote
from generator.tekton import crediting
from generator.tekton.loading import RESULT_NAME, RESULT_RULE, declared_name
from generator.tekton.preparing import Prepared
from generator.tekton.probes import probe_spec
from generator.tekton.specs import RawObject, Run
from generator.tekton.substituting import Key
from generator.warning import warn

__all__ = ["breakpoints", "check_task", "probes", "result_names", "result_specs", "running", "task_variables"]


def breakpoints(run: Run, steps: list[str]) -> tuple[bool, frozenset[str]]:
    """The run's `debug`: on failure (hold the failed step) and the steps to hold before."""
    debug, where = run.debug, f"{run.run_where}.debug"
    for key in debug:
        if key not in ("breakpoints", "breakpoint"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    if "breakpoint" in debug:  # v1beta1: a list of "onFailure"
        value = debug["breakpoint"]
        if not isinstance(value, list) or any(v != "onFailure" for v in value):
            raise GenerateError(f"{where}.breakpoint: {quote(value)} (only [onFailure] is supported)")
        return bool(value), frozenset()
    points = debug.get("breakpoints") or {}
    if not isinstance(points, dict):
        raise GenerateError(f"{where}.breakpoints: expected an object")
    for key in points:
        if key not in ("onFailure", "beforeSteps"):
            raise GenerateError(f"{where}.breakpoints.{key}: not supported by doll")
    on_failure = points.get("onFailure", "")
    if on_failure not in ("", "enabled"):
        raise GenerateError(f"{where}.breakpoints.onFailure: {quote(on_failure)} (only \"enabled\")")
    before = points.get("beforeSteps") or []
    if not isinstance(before, list):
        raise GenerateError(f"{where}.breakpoints.beforeSteps: expected a list of step names")
    for i, name in enumerate(before):
        if name not in steps:
            raise GenerateError(f"{where}.breakpoints.beforeSteps[{i}]: no step named {quote(name)}")
    return on_failure == "enabled", frozenset(before)


def result_names(task: RawObject, where: str) -> tuple[str, ...]:
    raw = task.get("results") or []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}.results: expected a list")
    seen: set[str] = set()
    fields = ("name", "type", "description", "properties", "value")  # value: a step result (step_results)
    return tuple(declared_name(result, f"{where}.results[{i}]", RESULT_NAME, RESULT_RULE, seen, fields)
                 for i, result in enumerate(raw))


def result_specs(task: RawObject, where: str) -> tuple[ResultSpec, ...]:
    """The declared types of the task's results (names already checked by `result_names`), for the supervisor's
    check at the end of the run (contracts/task_results.py)."""
    specs = []
    for i, result in enumerate(task.get("results") or []):
        kind, properties = result.get("type", "string"), result.get("properties") or {}
        if kind not in RESULT_TYPES:
            raise GenerateError(f"{where}.results[{i}].type: {quote(str(kind))} is not one of {', '.join(RESULT_TYPES)}")
        if not isinstance(properties, dict):
            raise GenerateError(f"{where}.results[{i}].properties: expected a map of keys to their types")
        specs.append(ResultSpec(name=result["name"], type=kind, properties=tuple(str(k) for k in properties)))
    return tuple(specs)


def check_task(task: RawObject, where: str) -> None:
    for key in task:
        if key not in ("params", "workspaces", "results", "steps", "stepTemplate", "sidecars", "volumes",
                       "description", "displayName"):
            hint = " (PipelineResources were removed from Tekton)" if key == "resources" else ""
            raise GenerateError(f"{where}.{key}: not supported by doll{hint}")


def task_variables(run: Run, params: dict[Key, Any], workspaces: dict[Key, Any],
                   results: tuple[str, ...]) -> dict[Key, Any]:
    variables: dict[Key, Any] = {**params, **workspaces}
    for name in results:
        variables[("results", name, "path")] = f"{RESULTS_DIR}/{name}"
    if not run.namespace and "context.taskRun.namespace" in json.dumps(run.task):
        warn(f"{run.task_where}: $(context.taskRun.namespace) becomes 'default' (no namespace given: set "
             "metadata.namespace or --namespace)")
    variables.update({("context", "taskRun", "name"): run.name, ("context", "taskRun", "namespace"):
                      run.namespace or "default", ("context", "taskRun", "uid"): run.uid,
                      ("context", "task", "name"): run.task_name or run.name,
                      ("context", "task", "retry-count"): "0", ("credentials", "path"): crediting.CREDS_DIR})
    return variables


def running(steps: list[Prepared], where: str) -> list[Prepared]:
    """The steps whose `when` holds; each other one is left out of the Pod, with a warning."""
    for step in steps:
        if step.false_when:
            warn(f"{step.where}: step {step.name!r} is skipped: its when {step.false_when} is false (doll decides "
                 "a step's when as it generates the Pod, and leaves the step out)")
    kept = [s for s in steps if not s.false_when]
    if not kept:
        raise GenerateError(f"{where}.steps: every step's when is false: nothing to run")
    return kept


def probes(sidecars: list[Prepared]) -> list[ProbeSpec | None]:
    return [None if s.spec.get("readinessProbe") is None else
            probe_spec(s.spec["readinessProbe"], s.spec.get("ports") or [], f"{s.where}.readinessProbe")
            for s in sidecars]
