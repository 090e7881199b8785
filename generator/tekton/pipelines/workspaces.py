"""Workspaces: the pipeline's, bound once by the PipelineRun, and each pipeline task's mapping of them under its
own names, with subPaths joined (docs/pipelines.md "Specifying Workspaces"; docs/workspaces.md "Using Workspaces
in Pipelines"; pipelinerun.go propagateWorkspaces for embedded specs, docs/pipelineruns.md "Propagated
Workspaces")."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.loading import declared_name
from generator.tekton.pipelines.params import text
from generator.tekton.specs import RawObject
from generator.tekton.substituting import Key
from generator.warning import warn

__all__ = ["Binding", "bound", "mapped", "propagated"]

Binding = tuple[RawObject, str]  # (binding as the PipelineRun gives it, where)
_NAME = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
_USED = re.compile(r"\$\(\s*workspaces\.([^.()\s]+)\.")


def _bindings(given: tuple[Binding, ...]) -> dict[str, Binding]:
    out: dict[str, Binding] = {}
    for binding, bw in given:
        if not isinstance(binding, dict) or not isinstance(binding.get("name"), str) or not binding["name"]:
            raise GenerateError(f"{bw}.name: missing")
        if binding["name"] in out:
            raise GenerateError(f"{bw}.name: duplicate {quote(binding['name'])}")
        out[binding["name"]] = (binding, bw)
    return out


def bound(spec: RawObject, where: str, given: tuple[Binding, ...], run_where: str,
          embedded: bool) -> dict[str, Binding | None]:
    """Each pipeline workspace and its binding (None: optional and unbound).  An embedded pipelineSpec takes the
    PipelineRun's undeclared bindings as declared; a bare Pipeline's unbound workspace is an emptyDir."""
    decls = spec.get("workspaces") or []
    if not isinstance(decls, list):
        raise GenerateError(f"{where}.workspaces: expected a list")
    bindings = _bindings(given)
    out: dict[str, Binding | None] = {}
    seen: set[str] = set()
    for i, decl in enumerate(decls):
        dw = f"{where}.workspaces[{i}]"
        name = declared_name(decl, dw, _NAME, "a workspace name", seen, ("name", "description", "optional"))
        if name in bindings:
            out[name] = bindings.pop(name)
        elif decl.get("optional"):
            out[name] = None
        elif run_where:
            raise GenerateError(f"{run_where}.workspaces: workspace {quote(name)} is not bound (declared at {dw})")
        else:
            warn(f"{dw}: workspace {name!r} is not bound; using an emptyDir")
            out[name] = ({"name": name, "emptyDir": {}}, dw)
    for name, (binding, bw) in bindings.items():
        if not embedded:
            raise GenerateError(f"{bw}.name: the pipeline declares no workspace {quote(name)}")
        out[name] = (binding, bw)
    return out


def _sub_path(raw: Any, where: str, known_variables: Mapping[Key, Any]) -> str:
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise GenerateError(f"{where}: {quote(raw)} is not a string")
    path = text(raw, known_variables, where)
    if path.startswith("/") or ".." in path.split("/"):
        raise GenerateError(f"{where}: {quote(path)} is not a relative path")
    return path


def mapped(raw: Any, where: str, pipeline: Mapping[str, Binding | None], known_variables: Mapping[Key, Any],
           extra: tuple[str, ...] = ()) -> tuple[tuple[Binding, ...], tuple[tuple[str, str], ...]]:
    """A pipeline task's `workspaces` (plus `extra` names, propagated): each binding under the task's name, and
    (task workspace, pipeline workspace) for each.  `workspace` defaults to the name (TEP-0108)."""
    entries = raw if raw is not None else []
    if not isinstance(entries, list):
        raise GenerateError(f"{where}: expected a list")
    entries = [*entries, *({"name": name} for name in extra)]
    bindings: list[Binding] = []
    sources: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        ew = f"{where}[{i}]"
        name = declared_name(entry, ew, _NAME, "a workspace name", seen, ("name", "workspace", "subPath"))
        source = entry.get("workspace") or name
        if source not in pipeline:
            raise GenerateError(f"{ew}.workspace: the pipeline declares no workspace {quote(source)}")
        sub_path = _sub_path(entry.get("subPath"), f"{ew}.subPath", known_variables)
        found = pipeline[source]
        if found is None:  # optional and unbound: the task's own declaration decides (an optional one is fine)
            continue
        binding, bw = found
        joined = posixpath.normpath(posixpath.join(binding.get("subPath") or "", sub_path)) \
            if sub_path else binding.get("subPath")
        bindings.append(({**{k: v for k, v in binding.items() if k != "subPath"}, "name": name,
                          **({"subPath": joined} if joined else {})}, bw))
        sources.append((name, source))
    return tuple(bindings), tuple(sources)


def propagated(task: RawObject, raw: Any, pipeline: Mapping[str, Binding | None]) -> tuple[str, ...]:
    """The pipeline workspaces an embedded taskSpec uses (`$(workspaces.<name>.…)`) without the pipeline task
    mapping them: Tekton maps each under its own name (pipelinerun.go propagateWorkspaces)."""
    named = {e.get("name") for e in raw or [] if isinstance(e, dict)}
    used = dict.fromkeys(_USED.findall(json.dumps(task)))
    return tuple(name for name in used if name in pipeline and name not in named)
