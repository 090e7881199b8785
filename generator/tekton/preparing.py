"""Preparing steps and sidecars: checked field by field, merged with the stepTemplate, variables replaced.

What comes out is still a Tekton step (a dict), but complete and valid: every later stage may trust it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contracts import layout
from generator.errors import GenerateError, quote
from generator.tekton import naming, shapes, step_results
from generator.tekton.durations import seconds
from generator.tekton.loading import DNS_LABEL, RESULT_NAME, RESULT_RULE
from generator.tekton.conditions import false_when
from generator.tekton.merging import merge
from generator.tekton.specs import RawObject
from generator.tekton.substituting import EXPANDABLE, Key, walk
from generator.warning import warn

__all__ = ["Prepared", "RESERVED", "SIDECAR_FIELDS", "STEP_FIELDS", "TEMPLATE_FIELDS", "check_not_reserved",
           "mount_path", "prepare_sidecars", "prepare_steps", "workspace_usages"]

STEP_FIELDS = {"name", "image", "command", "args", "workingDir", "env", "envFrom", "computeResources",
               "resources", "volumeMounts", "volumeDevices", "imagePullPolicy", "securityContext", "script",
               "timeout", "onError", "stdoutConfig", "stderrConfig", "results", "displayName", "when",
               "workspaces"}
SIDECAR_FIELDS = {"name", "image", "command", "args", "workingDir", "env", "envFrom", "computeResources",
                  "resources", "volumeMounts", "volumeDevices", "imagePullPolicy", "securityContext", "script",
                  "ports", "readinessProbe", "livenessProbe", "startupProbe", "lifecycle", "stdin", "tty",
                  "workspaces"}
TEMPLATE_FIELDS = STEP_FIELDS - {"name", "script", "timeout", "onError", "stdoutConfig", "stderrConfig",
                                 "results", "displayName", "when", "workspaces"} | {"ports"}
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
    false_when: str = ""  # a step whose `when` is false (the expression, as text): left out of the Pod
    workspace_mounts: tuple[RawObject, ...] = ()  # its isolated workspaces (binding.isolate fills them)
    result_refs: tuple[str, ...] = ()  # the earlier steps' results it uses (step_results: `--result-ref`s)


def _check_fields(obj: RawObject, allowed: set[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            hint = {"ref": " (StepActions: a step's ref)", "params": " (only a step with ref takes params)"}.get(
                key, "")
            raise GenerateError(f"{where}.{key}: not supported by doll{hint}")


def _names(items: list[Any], where: str, kind: str, rule: re.Pattern[str] = DNS_LABEL,
           rule_text: str = "a DNS-1123 label", unnamed: bool = False) -> list[str]:
    """Each item's name, checked; with `unnamed`, an item with no name is `unnamed-<index>`, as Tekton names
    a step's container `step-unnamed-<index>` (pkg/pod/pod.go StepName)."""
    names: list[str] = []
    for i, item in enumerate(items):
        iw = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise GenerateError(f"{iw}: expected an object")
        name = item.get("name")
        if (name is None or name == "") and unnamed:
            name = f"unnamed-{i}"
        elif name is None or name == "":
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


def prepare_steps(task: RawObject, where: str, variables: dict[Key, Any], volumes: set[str],
                  pipeline_task: str = "") -> list[Prepared]:
    """Each step checked, merged with the stepTemplate, variables replaced (StepActions are resolved before:
    generator/tekton/step_actions.py).  In a pipeline task, a step's dir is its qualified name's
    (naming.qualified): `$(steps.step-<name>.exitCode.path)` and its results' paths point there."""
    steps = _list(task, "steps", where)
    if not steps:
        raise GenerateError(f"{where}.steps: missing (a task needs at least one step)")
    names = _names(steps, f"{where}.steps", "step", unnamed=True)
    template = task.get("stepTemplate") or {}
    if not isinstance(template, dict):
        raise GenerateError(f"{where}.stepTemplate: expected an object")
    _check_fields(template, TEMPLATE_FIELDS, f"{where}.stepTemplate")
    shapes.check(template, shapes.CONTAINER, f"{where}.stepTemplate")
    for name in names:  # Tekton spells it with the container's name: $(steps.step-<name>.exitCode.path)
        variables[("steps", layout.step_dir_name(name), "exitCode", "path")] = \
            f"{layout.step_dir(layout.STEPS_DIR, naming.qualified(pipeline_task, name))}/{layout.EXIT_CODE_FILE}"
    prepared = []
    declared: dict[str, dict[str, str]] = {}
    for i, (name, raw) in enumerate(zip(names, steps)):
        sw = f"{where}.steps[{i}]"
        _check_fields(raw, STEP_FIELDS, sw)
        shapes.check(raw, shapes.CONTAINER, sw)
        results = _step_results(raw.get("results"), f"{sw}.results")
        local = _own_paths(raw, sw, variables)
        for result in results:
            local[("step", "results", result, "path")] = step_results.result_file(pipeline_task, name, result)
        when = false_when(raw.get("when"), local, f"{sw}.when")
        merged = merge(template, {k: v for k, v in raw.items() if k != "when"})
        refs = step_results.check_step(merged, i, names, declared, sw, pipeline_task)
        local.update(step_results.variables(i, names, declared))
        spec = walk(merged, local, sw, EXPANDABLE)
        spec = _common({**spec, "name": name}, sw, volumes)
        timeout = seconds(spec["timeout"], f"{sw}.timeout") if "timeout" in spec else None
        on_error = spec.get("onError", "stopAndFail")
        if on_error not in ("continue", "stopAndFail"):
            raise GenerateError(f"{sw}.onError: {quote(on_error)} is not continue or stopAndFail")
        for key in ("stdoutConfig", "stderrConfig"):
            config = spec.get(key)
            if config is not None and (not isinstance(config, dict) or set(config) - {"path"}):
                raise GenerateError(f"{sw}.{key}: only `path` is supported")
        declared[name] = step_results.declared_results(raw.get("results"))
        prepared.append(Prepared(name, sw, spec, timeout, on_error, when, result_refs=refs))
    return prepared


def workspace_usages(raw: RawObject, where: str) -> list[tuple[str, str]]:
    """(workspace, mountPath or "") for each entry of a step's or sidecar's `workspaces` (docs/workspaces.md,
    "Isolated Workspaces"), checked."""
    usages = raw.get("workspaces")
    if usages is None:
        return []
    if not isinstance(usages, list):
        raise GenerateError(f"{where}.workspaces: expected a list")
    out = []
    for i, usage in enumerate(usages):
        uw = f"{where}.workspaces[{i}]"
        if not isinstance(usage, dict) or not isinstance(usage.get("name"), str) or not usage["name"]:
            raise GenerateError(f"{uw}.name: missing")
        _check_fields(usage, {"name", "mountPath"}, uw)
        path = usage.get("mountPath") or ""
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise GenerateError(f"{uw}.mountPath: {quote(path)} is not an absolute path")
        if path:
            check_not_reserved(path, f"{uw}.mountPath")
        out.append((usage["name"], path))
    return out


def _own_paths(raw: RawObject, where: str, variables: dict[Key, Any]) -> dict[Key, Any]:
    """The variables as this container sees them: `$(workspaces.x.path)` is the container's own mountPath
    for a workspace it mounts elsewhere (apply.go applyWorkspaceMountPath)."""
    local = dict(variables)
    for name, path in workspace_usages(raw, where):
        if path and ("workspaces", name, "path") in local:
            local[("workspaces", name, "path")] = path
    return local


def _step_results(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}: expected a list")
    names = _names(raw, where, "step result", RESULT_NAME, RESULT_RULE)  # Tekton's rule, not a DNS label
    for i, result in enumerate(raw):
        _check_fields(result, {"name", "type", "description", "properties"}, f"{where}[{i}]")
    if names:
        warn(f"{where}: step results are not reported by doll (it has no TaskRun status): later steps can use them, "
             "$(steps.<step>.results.<name>), and task results can take them, value: $(steps.<step>.results.<name>)")
    return names


def prepare_sidecars(task: RawObject, where: str, variables: dict[Key, Any], volumes: set[str]) -> list[Prepared]:
    sidecars = _list(task, "sidecars", where)
    names = _names(sidecars, f"{where}.sidecars", "sidecar")
    out = []
    for i, (name, raw) in enumerate(zip(names, sidecars)):
        sw = f"{where}.sidecars[{i}]"
        _check_fields(raw, SIDECAR_FIELDS, sw)
        local = _own_paths(raw, sw, variables)
        out.append(Prepared(name, sw, _common(walk(raw, local, sw, EXPANDABLE), sw, volumes)))
    return out
