"""Each pipeline task as written: its fields checked, its Task found (`taskRef` among the given files) or embedded
(`taskSpec`), the results that Task declares (docs/pipelines.md "Adding Tasks to the Pipeline"; PipelineTask.Validate
in pkg/apis/pipeline/v1/pipeline_validation.go)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.plans import ResultSpec
from generator.errors import GenerateError, quote
from generator.tekton.loading import DNS_LABEL, Documents, string_map
from generator.tekton.pipelines.documents import find_task
from generator.tekton.pipelines.results import declared
from generator.tekton.specs import RawObject

__all__ = ["FIELDS", "Written", "written"]

FIELDS = {"name", "displayName", "description", "taskRef", "taskSpec", "when", "retries", "runAfter", "params",
          "matrix", "workspaces", "timeout", "onError"}
_REFUSED = {
    "pipelineRef": "Pipelines in Pipelines (TEP-0056) are not supported",
    "pipelineSpec": "Pipelines in Pipelines (TEP-0056) are not supported",
    "resources": "PipelineResources were removed from Tekton",
}
_EMBEDDED_META = ("apiVersion", "kind", "spec", "metadata")


@dataclass(frozen=True)
class Written:
    """A pipeline task as the Pipeline writes it, with its Task."""

    name: str
    where: str  # "run.yaml: spec.pipelineSpec.tasks[2]"
    raw: RawObject
    task: RawObject  # the Task's spec (an embedded one without its metadata)
    task_where: str
    task_name: str  # "" for an embedded taskSpec
    embedded: bool
    is_finally: bool
    results: tuple[ResultSpec, ...]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def _embedded(raw: Any, where: str) -> tuple[RawObject, dict[str, str], dict[str, str]]:
    """An embedded taskSpec (EmbeddedTask): its spec, and the labels and annotations its metadata gives."""
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: expected an object")
    if "apiVersion" in raw or "kind" in raw or "spec" in raw:
        key = next(k for k in ("apiVersion", "kind", "spec") if k in raw)
        raise GenerateError(f"{where}.{key}: custom tasks are not supported (doll runs Tekton Tasks only)")
    meta = raw.get("metadata") or {}
    if not isinstance(meta, dict) or set(meta) - {"labels", "annotations"}:
        raise GenerateError(f"{where}.metadata: only labels and annotations are supported")
    spec = {k: v for k, v in raw.items() if k not in _EMBEDDED_META}
    return spec, string_map(meta, "labels", where), string_map(meta, "annotations", where)


def _one(raw: Any, where: str, docs: Documents, is_finally: bool, names: set[str]) -> Written:
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: expected an object")
    name = raw.get("name")
    if not isinstance(name, str) or not DNS_LABEL.match(name):
        raise GenerateError(f"{where}.name: {quote(name)} is not a DNS-1123 label")
    if name in names:
        raise GenerateError(f"{where}.name: duplicate {quote(name)}")
    names.add(name)
    for key in raw:
        if key in _REFUSED:
            raise GenerateError(f"{where}.{key}: not supported ({_REFUSED[key]})")
        if key not in FIELDS:
            raise GenerateError(f"{where}.{key}: not supported by doll")
    if ("taskRef" in raw) == ("taskSpec" in raw):
        which = "both taskRef and taskSpec" if "taskRef" in raw else "neither taskRef nor taskSpec"
        raise GenerateError(f"{where}: {which} (give one)")
    if "taskSpec" in raw:
        spec, labels, annotations = _embedded(raw["taskSpec"], f"{where}.taskSpec")
        spec_where, task_name = f"{where}.taskSpec", ""
    else:
        spec, spec_where, task_name, meta = find_task(raw["taskRef"], f"{where}.taskRef", docs)
        labels, annotations = string_map(meta, "labels", spec_where), string_map(meta, "annotations", spec_where)
    return Written(name=name, where=where, raw=raw, task=spec, task_where=spec_where, task_name=task_name,
                   embedded="taskSpec" in raw, is_finally=is_finally, results=declared(spec, spec_where),
                   labels=labels, annotations=annotations)


def _list(spec: RawObject, key: str, where: str) -> list[Any]:
    value = spec.get(key) or []
    if not isinstance(value, list):
        raise GenerateError(f"{where}.{key}: expected a list")
    return value


def written(spec: RawObject, where: str, docs: Documents) -> list[Written]:
    """The pipeline's tasks, then its finally tasks, as written (`where`: "run.yaml: spec.pipelineSpec")."""
    tasks, final = _list(spec, "tasks", where), _list(spec, "finally", where)
    if not tasks:  # validateTasksAndFinallySection; PipelineSpec.Validate (at least one task)
        raise GenerateError(f"{where}.tasks: missing (a pipeline needs at least one task)")
    names: set[str] = set()
    return [*(_one(t, f"{where}.tasks[{i}]", docs, False, names) for i, t in enumerate(tasks)),
            *(_one(t, f"{where}.finally[{i}]", docs, True, names) for i, t in enumerate(final))]
