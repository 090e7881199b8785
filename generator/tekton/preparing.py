"""Preparing steps and sidecars: checked field by field, merged with the stepTemplate, variables replaced.

What comes out is still a Tekton step (a dict), but complete and valid: every later stage may trust it.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from contracts import layout
from generator.errors import GenerateError, quote
from generator.tekton import shapes
from generator.tekton.durations import seconds
from generator.tekton.loading import DNS_LABEL, RESULT_NAME, RESULT_RULE
from generator.tekton.merging import merge
from generator.tekton.specs import RawObject
from generator.tekton.substituting import EXPANDABLE, Key, walk
from generator.warning import warn

__all__ = ["Prepared", "RESERVED", "SIDECAR_FIELDS", "STEP_FIELDS", "TEMPLATE_FIELDS", "check_not_reserved",
           "mount_path", "prepare_sidecars", "prepare_steps"]

STEP_FIELDS = {"name", "image", "command", "args", "workingDir", "env", "envFrom", "computeResources",
               "resources", "volumeMounts", "volumeDevices", "imagePullPolicy", "securityContext", "script",
               "timeout", "onError", "stdoutConfig", "stderrConfig", "results"}
SIDECAR_FIELDS = {"name", "image", "command", "args", "workingDir", "env", "envFrom", "computeResources",
                  "resources", "volumeMounts", "volumeDevices", "imagePullPolicy", "securityContext", "script",
                  "ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle", "stdin", "tty"}
TEMPLATE_FIELDS = STEP_FIELDS - {"name", "script", "timeout", "onError", "stdoutConfig", "stderrConfig",
                                 "results"} | {"ports"}
RESERVED = ("/doll", layout.STEPS_DIR, layout.SCRIPTS_DIR, layout.RESULTS_DIR, layout.TERMINATION_PATH)


def mount_path(path: str) -> str:
    """A mountPath as compared with another: normalized, so `/data/`, `/x/../data` and `//data` are `/data`
    (posixpath.normpath keeps exactly two leading slashes, which POSIX leaves to the implementation; Linux and
    the kubelet read them as one)."""
    normal = posixpath.normpath(path)
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


def check_not_reserved(path: str, where: str) -> None:
    """Refuse a mount on doll's own paths (`where` names the mountPath field)."""
    normal = mount_path(path)
    if any(normal == r or normal.startswith(r + "/") for r in RESERVED):
        raise GenerateError(f"{where}: {quote(path)} is reserved for doll")


@dataclass(frozen=True)
class Prepared:
    name: str
    where: str  # "task.yaml: spec.steps[2]"
    spec: RawObject  # merged, substituted, checked; `resources` renamed `computeResources`
    timeout_seconds: float | None = None
    on_error: str = "stopAndFail"


def _check_fields(obj: RawObject, allowed: set[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            hint = {"workspaces": " (isolated step workspaces)", "ref": " (StepActions)", "when": " (step when)",
                    "params": " (StepAction params)"}.get(key, "")
            raise GenerateError(f"{where}.{key}: not supported by doll{hint}")


def _names(items: list[Any], where: str, kind: str, rule: re.Pattern[str] = DNS_LABEL,
           rule_text: str = "a DNS-1123 label") -> list[str]:
    names: list[str] = []
    for i, item in enumerate(items):
        iw = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise GenerateError(f"{iw}: expected an object")
        name = item.get("name")
        if name is None or name == "":
            raise GenerateError(f"{iw}.name: missing (doll needs every {kind} named)")
        if not isinstance(name, str) or not rule.match(name):
            raise GenerateError(f"{iw}.name: {quote(name)} is not {rule_text}")
        if name in names:
            raise GenerateError(f"{iw}.name: duplicate {quote(name)}")
        names.append(name)
    return names


def _list(task: RawObject, key: str, where: str) -> list[Any]:
    value = task.get(key, []) or []
    if not isinstance(value, list):
        raise GenerateError(f"{where}.{key}: expected a list")
    return value


def _common(spec: RawObject, where: str, volumes: set[str]) -> RawObject:
    shapes.check(spec, shapes.CONTAINER, where)
    if "resources" in spec:
        if "computeResources" in spec:
            raise GenerateError(f"{where}: both resources and computeResources (give one)")
        spec["computeResources"] = spec.pop("resources")
    if not spec.get("image"):
        raise GenerateError(f"{where}.image: missing")
    if not isinstance(spec["image"], str):
        raise GenerateError(f"{where}.image: {quote(spec['image'])} is not a string")
    if "script" in spec:
        if spec.get("command"):
            raise GenerateError(f"{where}: both script and command (give one)")
        if not isinstance(spec["script"], str) or not spec["script"].strip():
            raise GenerateError(f"{where}.script: empty")
        if spec["script"].startswith("#!win"):
            raise GenerateError(f"{where}.script: Windows scripts (#!win) are not supported")
    for key in ("command", "args"):
        if key in spec and not isinstance(spec[key], list):
            raise GenerateError(f"{where}.{key}: expected a list of strings")
    for i, mount in enumerate(spec.get("volumeMounts", []) or []):
        mw = f"{where}.volumeMounts[{i}]"
        if not isinstance(mount, dict) or not isinstance(mount.get("mountPath"), str):
            raise GenerateError(f"{mw}.mountPath: missing")
        check_not_reserved(mount["mountPath"], f"{mw}.mountPath")
        if mount.get("name") not in volumes:
            raise GenerateError(f"{mw}.name: {quote(mount.get('name'))} names no volume of the task")
    return spec


def prepare_steps(task: RawObject, where: str, variables: dict[Key, Any], volumes: set[str]) -> list[Prepared]:
    steps = _list(task, "steps", where)
    if not steps:
        raise GenerateError(f"{where}.steps: missing (a task needs at least one step)")
    names = _names(steps, f"{where}.steps", "step")
    template = task.get("stepTemplate") or {}
    if not isinstance(template, dict):
        raise GenerateError(f"{where}.stepTemplate: expected an object")
    _check_fields(template, TEMPLATE_FIELDS, f"{where}.stepTemplate")
    shapes.check(template, shapes.CONTAINER, f"{where}.stepTemplate")
    for name in names:  # Tekton spells it with the container's name: $(steps.step-<name>.exitCode.path)
        variables[("steps", layout.step_dir_name(name), "exitCode", "path")] = \
            f"{layout.step_dir(layout.STEPS_DIR, name)}/{layout.EXIT_CODE_FILE}"
    prepared = []
    for i, (name, raw) in enumerate(zip(names, steps)):
        sw = f"{where}.steps[{i}]"
        _check_fields(raw, STEP_FIELDS, sw)
        shapes.check(raw, shapes.CONTAINER, sw)
        results = _step_results(raw.get("results"), f"{sw}.results")
        local = dict(variables)
        for result in results:
            local[("step", "results", result, "path")] = \
                f"{layout.step_dir(layout.STEPS_DIR, name)}/{layout.STEP_RESULTS_DIR}/{result}"
        spec = walk(merge(template, raw), local, sw, EXPANDABLE)
        spec = _common(spec, sw, volumes)
        timeout = seconds(spec["timeout"], f"{sw}.timeout") if "timeout" in spec else None
        on_error = spec.get("onError", "stopAndFail")
        if on_error not in ("continue", "stopAndFail"):
            raise GenerateError(f"{sw}.onError: {quote(on_error)} is not continue or stopAndFail")
        for key in ("stdoutConfig", "stderrConfig"):
            config = spec.get(key)
            if config is not None and (not isinstance(config, dict) or set(config) - {"path"}):
                raise GenerateError(f"{sw}.{key}: only `path` is supported")
        prepared.append(Prepared(name, sw, spec, timeout, on_error))
    return prepared


def _step_results(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    names = _names(raw, where, "step result", RESULT_NAME, RESULT_RULE)  # Tekton's rule, not a DNS label
    for i, result in enumerate(raw):
        _check_fields(result, {"name", "type", "description", "properties"}, f"{where}[{i}]")
    if names:
        warn(f"{where}: step results are not collected by doll: the step can write $(step.results.<name>.path), "
             "but the values reach no TaskRun status and $(steps.<step>.results.<name>) is refused")
    return names


def prepare_sidecars(task: RawObject, where: str, variables: dict[Key, Any], volumes: set[str]) -> list[Prepared]:
    sidecars = _list(task, "sidecars", where)
    names = _names(sidecars, f"{where}.sidecars", "sidecar")
    out = []
    for i, (name, raw) in enumerate(zip(names, sidecars)):
        sw = f"{where}.sidecars[{i}]"
        _check_fields(raw, SIDECAR_FIELDS, sw)
        out.append(Prepared(name, sw, _common(walk(raw, variables, sw, EXPANDABLE), sw, volumes)))
    return out
