"""The documents given with `-f`, sorted by kind: the PipelineRun (or a bare Pipeline), the Pipelines and Tasks
its refs name, the StepActions its steps may use.  Refs resolve against these documents only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.loading import (API_VERSIONS, STEP_ACTION_API_VERSIONS, metadata_of, parse, spec_of,
                                      unsupported_kind)
from generator.tekton.specs import RawObject

__all__ = ["Doc", "Documents", "KINDS", "find_pipeline", "find_task", "sort"]

KINDS = ("PipelineRun", "Pipeline", "Task", "TaskRun", "StepAction")
Doc = tuple[RawObject, str]  # (document, where)


@dataclass(frozen=True)
class Documents:
    runs: list[Doc] = field(default_factory=list)
    pipelines: list[Doc] = field(default_factory=list)
    tasks: list[Doc] = field(default_factory=list)
    task_runs: list[Doc] = field(default_factory=list)
    actions: tuple[Doc, ...] = ()


def _kind(doc: RawObject, where: str) -> str:
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind not in KINDS:
        raise unsupported_kind(kind, where)
    allowed = STEP_ACTION_API_VERSIONS if kind == "StepAction" else API_VERSIONS
    if api not in allowed:
        raise GenerateError(f"{where}: apiVersion: {quote(api)} is not supported for a {kind} "
                            f"({' or '.join(allowed)})")
    return str(kind)


def sort(sources: Sequence[tuple[str, str]]) -> Documents:
    """Every document by kind (docs/pipelineruns.md, docs/pipelines.md: tekton.dev/v1 and v1beta1)."""
    docs = Documents()
    by_kind = {"PipelineRun": docs.runs, "Pipeline": docs.pipelines, "Task": docs.tasks, "TaskRun": docs.task_runs}
    actions = []
    for doc, where in parse(sources):
        kind = _kind(doc, where)
        if kind == "StepAction":
            actions.append((doc, where))
        else:
            by_kind[kind].append((doc, where))
    return Documents(docs.runs, docs.pipelines, docs.tasks, docs.task_runs, tuple(actions))


def _ref(raw: Any, where: str, kinds: tuple[str, ...], what: str) -> str:
    """The name of a `pipelineRef` / `taskRef`: only a name, resolved among the given files."""
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}: expected an object")
    for key in raw:
        if key in ("resolver", "params", "bundle"):
            raise GenerateError(f"{where}.{key}: not supported (doll resolves {what}s from the files given with -f "
                                "only; fetch it and give it with -f)")
        if key == "apiVersion":
            raise GenerateError(f"{where}.apiVersion: {quote(raw[key])}: custom tasks are not supported (doll runs "
                                "Tekton Tasks only)")
        if key not in ("name", "kind"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    kind = raw.get("kind", kinds[0])
    if kind not in kinds:
        hint = " (ClusterTasks were removed from Tekton; give the Task with -f)" if kind == "ClusterTask" else \
            " (custom tasks are not supported)"
        raise GenerateError(f"{where}.kind: {quote(kind)} is not supported{hint}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise GenerateError(f"{where}.name: missing")
    return name


def _named(docs: list[Doc], name: str) -> Doc | None:
    for doc, where in docs:
        if metadata_of(doc, where).get("name") == name:
            return doc, where
    return None


def find_pipeline(raw: Any, where: str, docs: Documents) -> tuple[RawObject, str, str, RawObject]:
    """(spec, where of the spec, name, metadata) of the Pipeline a `pipelineRef` names."""
    return _found(raw, where, docs.pipelines, "Pipeline")


def find_task(raw: Any, where: str, docs: Documents) -> tuple[RawObject, str, str, RawObject]:
    """(spec, where of the spec, name, metadata) of the Task a pipeline task's `taskRef` names."""
    return _found(raw, where, docs.tasks, "Task")


def _found(raw: Any, where: str, among: list[Doc], kind: str) -> tuple[RawObject, str, str, RawObject]:
    name = _ref(raw, where, (kind,), kind)
    found = _named(among, name)
    if found is None:
        raise GenerateError(f"{where}.name: {kind.lower()} {quote(name)} is not among the given files")
    doc, doc_where = found
    return spec_of(doc, doc_where), f"{doc_where}: spec", name, metadata_of(doc, doc_where)
