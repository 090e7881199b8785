"""The Pipeline and Tasks a PipelineRun's refs name, found among the documents given with `-f` (sorted by kind by
loading.by_kind): refs resolve against these documents only."""

from __future__ import annotations

from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.loading import Doc, Documents, metadata_of, spec_of
from generator.tekton.specs import RawObject

__all__ = ["find_pipeline", "find_task"]


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
