"""The run itself: a PipelineRun (tekton.dev/v1, v1beta1 where it differs) or a bare Pipeline with -p params, and
the Pipeline it runs (`pipelineSpec`, or `pipelineRef` to a Pipeline among the given files)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from generator.errors import GenerateError, quote
from generator.tekton.loading import (DNS_LABEL, DNS_SUBDOMAIN, Doc, Documents, given_params, metadata_of,
                                      object_name, random_suffix, run_name_of, spec_of, string_map)
from generator.tekton.pipelines.documents import find_pipeline
from generator.tekton.pipelines.timeouts import Timeouts, timeouts
from generator.tekton.specs import ParamValue, RawObject
from generator.warning import warn

__all__ = ["Heading", "PIPELINE_FIELDS", "RUN_FIELDS", "bare", "heading"]

RUN_FIELDS = {"pipelineRef", "pipelineSpec", "params", "timeouts", "timeout", "taskRunTemplate", "workspaces",
              "podTemplate", "serviceAccountName"}
PIPELINE_FIELDS = {"displayName", "description", "tasks", "params", "workspaces", "results", "finally"}
_REFUSED = {
    "status": "doll starts the run; there is nothing to cancel or hold",
    "resources": "PipelineResources were removed from Tekton",
    "taskRunSpecs": "every task runs in one Pod, with one podTemplate and one service account: set them in "
                    "taskRunTemplate",
    "pipelineRunSpecs": "Pipelines in Pipelines (TEP-0056) are not supported",
}
_V1BETA1_ONLY = {"podTemplate": "taskRunTemplate.podTemplate",
                 "serviceAccountName": "taskRunTemplate.serviceAccountName", "timeout": "timeouts.pipeline"}


@dataclass(frozen=True)
class Heading:
    name: str
    namespace: str
    uid: str
    where: str  # "run.yaml: spec" ("" for a bare Pipeline)
    spec: RawObject  # the Pipeline's spec
    spec_where: str  # "run.yaml: spec.pipelineSpec" or "pipeline.yaml: spec"
    pipeline_name: str  # "" for an embedded pipelineSpec
    embedded: bool
    params: tuple[ParamValue, ...] = ()
    workspaces: tuple[tuple[RawObject, str], ...] = ()
    timeouts: Timeouts = Timeouts()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    pod_template: RawObject = field(default_factory=dict)
    service_account: str = ""


def _check_fields(spec: RawObject, where: str, v1: bool) -> None:
    for key in spec:
        if key in _REFUSED:
            raise GenerateError(f"{where}.{key}: not supported ({_REFUSED[key]})")
        if key == "managedBy":
            warn(f"{where}.managedBy: ignored (doll has no controller)")
        elif v1 and key in _V1BETA1_ONLY:
            raise GenerateError(f"{where}.{key}: not a tekton.dev/v1 field (v1 spells it {_V1BETA1_ONLY[key]})")
        elif key not in RUN_FIELDS or (not v1 and key == "taskRunTemplate"):
            raise GenerateError(f"{where}.{key}: not supported by doll")


def _template(spec: RawObject, where: str, v1: bool) -> tuple[RawObject, str]:
    """(podTemplate, serviceAccountName): v1's taskRunTemplate, v1beta1's top-level fields."""
    source, at = spec, where
    if v1:
        source = spec.get("taskRunTemplate") or {}
        at = f"{where}.taskRunTemplate"
        if not isinstance(source, dict):
            raise GenerateError(f"{at}: expected an object")
        for key in source:
            if key not in ("podTemplate", "serviceAccountName"):
                raise GenerateError(f"{at}.{key}: not supported by doll")
    pod_template = source.get("podTemplate") or {}
    if not isinstance(pod_template, dict):
        raise GenerateError(f"{at}.podTemplate: expected an object")
    sa = source.get("serviceAccountName", "")
    if not isinstance(sa, str) or (sa and not DNS_SUBDOMAIN.match(sa)):
        raise GenerateError(f"{at}.serviceAccountName: {quote(sa)} is not a DNS-1123 name")
    return pod_template, sa


def _pipeline(spec: RawObject, where: str, docs: Documents) -> tuple[RawObject, str, str, RawObject]:
    if ("pipelineSpec" in spec) == ("pipelineRef" in spec):
        which = "both pipelineRef and pipelineSpec" if "pipelineRef" in spec else "neither pipelineRef nor pipelineSpec"
        raise GenerateError(f"{where}: {which} (give one)")
    if "pipelineRef" in spec:
        return find_pipeline(spec["pipelineRef"], f"{where}.pipelineRef", docs)
    if not isinstance(spec["pipelineSpec"], dict):
        raise GenerateError(f"{where}.pipelineSpec: expected an object")
    return spec["pipelineSpec"], f"{where}.pipelineSpec", "", {}


def heading(run: Doc, docs: Documents, cli: tuple[ParamValue, ...], run_name: str) -> Heading:
    doc, doc_where = run
    v1 = doc.get("apiVersion") == "tekton.dev/v1"
    meta, spec, where = metadata_of(doc, doc_where), spec_of(doc, doc_where), f"{doc_where}: spec"
    _check_fields(spec, where, v1)
    name = run_name_of(meta, doc_where, run_name)
    namespace = meta.get("namespace", "")
    if not isinstance(namespace, str) or (namespace and not DNS_LABEL.match(namespace)):
        raise GenerateError(f"{doc_where}: metadata.namespace: {quote(namespace)} is not a DNS-1123 label")
    pipeline, pipeline_where, pipeline_name, pipeline_meta = _pipeline(spec, where, docs)
    workspaces = spec.get("workspaces") or []
    if not isinstance(workspaces, list):
        raise GenerateError(f"{where}.workspaces: expected a list")
    overridden = {p.name for p in cli}
    pod_template, sa = _template(spec, where, v1)
    return Heading(
        name=name, namespace=namespace, uid=str(meta.get("uid") or uuid.uuid4()), where=where, spec=pipeline,
        spec_where=pipeline_where, pipeline_name=pipeline_name, embedded="pipelineSpec" in spec,
        params=tuple(p for p in given_params(spec, doc_where) if p.name not in overridden) + cli,
        workspaces=tuple((w, f"{where}.workspaces[{i}]") for i, w in enumerate(workspaces)),
        timeouts=timeouts(spec, where, v1),
        labels={**string_map(pipeline_meta, "labels", pipeline_where), **string_map(meta, "labels", doc_where)},
        annotations={**string_map(pipeline_meta, "annotations", pipeline_where),
                     **string_map(meta, "annotations", doc_where)},
        pod_template=pod_template, service_account=sa)


def bare(pipelines: list[Doc], cli: tuple[ParamValue, ...], run_name: str) -> Heading:
    """A Pipeline and no PipelineRun: run it as if a PipelineRun named it, with the -p params only."""
    if len(pipelines) != 1:
        raise GenerateError(f"{pipelines[1][1]}: a second Pipeline and no PipelineRun saying which one to run")
    doc, where = pipelines[0]
    meta = metadata_of(doc, where)
    name = object_name(meta, where)
    return Heading(name=run_name or f"{name}-run-{random_suffix()}", namespace="", uid=str(uuid.uuid4()), where="",
                   spec=spec_of(doc, where), spec_where=f"{where}: spec", pipeline_name=name, embedded=False,
                   params=cli, labels=string_map(meta, "labels", where),
                   annotations=string_map(meta, "annotations", where))
