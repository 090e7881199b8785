"""Reading Task and TaskRun documents (tekton.dev/v1 and v1beta1) into a `Run`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from generator.errors import GenerateError, quote
from generator.tekton.durations import seconds
from generator.tekton.reading import documents
from generator.tekton.specs import ParamValue, RawObject, Run
from generator.warning import warn

__all__ = ["API_VERSIONS", "Doc", "Documents", "KINDS", "by_kind", "declared_name", "load_documents", "unsupported_kind", "DNS_LABEL", "DNS_SUBDOMAIN", "RESULT_NAME", "RESULT_RULE", "RUN_FIELDS",
           "STEP_ACTION_API_VERSIONS", "WARN_RUN_FIELDS", "given_params", "load", "metadata_of", "object_name", "parse",
           "random_suffix", "run_name_of", "spec_of", "string_map"]

API_VERSIONS = ("tekton.dev/v1", "tekton.dev/v1beta1")
STEP_ACTION_API_VERSIONS = ("tekton.dev/v1alpha1", "tekton.dev/v1beta1")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
# Tekton's ResultNameFormat, for task and step results alike (StepResult.Validate uses it too): also what
# keeps a result's name a plain file name under /tekton/results or /tekton/steps/step-<name>/results
RESULT_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
RESULT_RULE = "a result name (letters, digits, - _ . inside, a letter or digit at each end)"
RUN_FIELDS = {"taskRef", "taskSpec", "params", "workspaces", "podTemplate", "serviceAccountName", "timeout",
              "debug"}
WARN_RUN_FIELDS = {"statusMessage": "ignored (doll has no controller)",
                   "retries": "ignored (doll runs the Pod once)", "managedBy": "ignored (no controller)"}


def parse(sources: Sequence[tuple[str, str]]) -> list[tuple[RawObject, str]]:
    """Every YAML document of every source, with a location `FILE: document N` for errors."""
    docs: list[tuple[RawObject, str]] = []
    for filename, text in sources:
        try:
            loaded = documents(text, filename)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise GenerateError(f"{filename}: malformed YAML: {line}{problem}") from None
        numbered = [d for d in loaded if d is not None]
        for n, doc in enumerate(numbered):
            where = filename if len(numbered) == 1 else f"{filename}: document {n + 1}"
            if not isinstance(doc, dict):
                raise GenerateError(f"{where}: expected a Kubernetes object, got {type(doc).__name__}")
            docs.append((doc, where))
    if not docs:
        raise GenerateError(f"{', '.join(f for f, _ in sources) or 'stdin'}: no Task, TaskRun, Pipeline or PipelineRun found (empty)")
    return docs


_SPELLED = {k.lower(): k for k in ("Task", "TaskRun", "Pipeline", "PipelineRun")}


def unsupported_kind(kind: object, where: str) -> GenerateError:
    """The one line for a kind doll does not run; kinds are case-sensitive: kubectl finds no `task` in tekton.dev
    ("no matches for kind"), nor does Tekton, so a miscased one is told how it is spelled."""
    spelled = _SPELLED.get(kind.lower(), "") if isinstance(kind, str) else ""
    hint = f"; kinds are case-sensitive: {spelled}" if spelled else ""
    return GenerateError(f"{where}: kind: {quote(kind)} is not supported (doll runs a Task, TaskRun, Pipeline or "
                         f"PipelineRun{hint})")


KINDS = ("PipelineRun", "Pipeline", "Task", "TaskRun", "StepAction")
Doc = tuple[RawObject, str]  # (document, where)


@dataclass(frozen=True)
class Documents:
    """The given documents by kind, each in the order given (each checked: kind and apiVersion)."""

    runs: list[Doc] = field(default_factory=list)  # PipelineRuns
    pipelines: list[Doc] = field(default_factory=list)
    tasks: list[Doc] = field(default_factory=list)
    task_runs: list[Doc] = field(default_factory=list)
    actions: tuple[Doc, ...] = ()  # StepActions


def by_kind(sources: Sequence[tuple[str, str]]) -> Documents:
    """Every document of the sources, parsed once and sorted by kind (docs/pipelineruns.md, docs/taskruns.md:
    tekton.dev/v1 and v1beta1; docs/stepactions.md: StepActions tekton.dev/v1alpha1 and v1beta1)."""
    docs = Documents()
    lists = {"PipelineRun": docs.runs, "Pipeline": docs.pipelines, "Task": docs.tasks, "TaskRun": docs.task_runs}
    actions = []
    for doc, where in parse(sources):
        kind = _kind(doc, where)
        if kind == "StepAction":
            actions.append((doc, where))
        else:
            lists[kind].append((doc, where))
    return dataclasses.replace(docs, actions=tuple(actions))


def _kind(doc: RawObject, where: str) -> str:
    kind, api = doc.get("kind"), doc.get("apiVersion")
    if kind not in KINDS:
        raise unsupported_kind(kind, where)
    allowed = STEP_ACTION_API_VERSIONS if kind == "StepAction" else API_VERSIONS
    if api not in allowed:
        raise GenerateError(f"{where}: apiVersion: {quote(api)} is not supported for a {kind} "
                            f"({' or '.join(allowed)})")
    return str(kind)


def metadata_of(doc: RawObject, where: str) -> RawObject:
    meta = doc.get("metadata", {})
    if not isinstance(meta, dict):
        raise GenerateError(f"{where}: metadata: expected an object")
    return meta


def spec_of(doc: RawObject, where: str) -> RawObject:
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise GenerateError(f"{where}: spec: {'missing' if spec is None else 'expected an object'}")
    return spec


def object_name(meta: RawObject, where: str, required: bool = True) -> str:
    name = meta.get("name", "")
    if not name and not required:
        return ""
    if not isinstance(name, str) or not name:
        raise GenerateError(f"{where}: metadata.name: missing")
    if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        raise GenerateError(f"{where}: metadata.name: {quote(name)} is not a DNS-1123 name")
    return name


def random_suffix() -> str:
    return uuid.uuid4().hex[:5]


def load(sources: Sequence[tuple[str, str]], cli_params: Mapping[str, str], run_name: str = "") -> Run:
    return load_documents(by_kind(sources), cli_params, run_name)


def load_documents(docs: Documents, cli_params: Mapping[str, str], run_name: str = "") -> Run:
    """The TaskRun (or bare Task) among the documents, with the StepActions given beside it."""
    pipeline = [*docs.runs, *docs.pipelines]
    if pipeline:  # the Task path's own documents only: translating.translate sends these to tekton.pipelines
        raise unsupported_kind(pipeline[0][0].get("kind"), pipeline[0][1])
    runs, tasks, actions = docs.task_runs, docs.tasks, docs.actions
    cli = tuple(ParamValue(n, v, f"-p {n}") for n, v in cli_params.items())
    if len(runs) > 1:
        raise GenerateError(f"{runs[1][1]}: a second TaskRun (give doll one TaskRun at a time)")
    if not runs and not tasks:
        raise GenerateError(f"{actions[0][1]}: no Task, TaskRun, Pipeline or PipelineRun found (only StepActions)")
    if not runs:
        return dataclasses.replace(_bare_task(tasks, cli, run_name), step_actions=actions)
    doc, where = runs[0]
    meta, spec = metadata_of(doc, where), spec_of(doc, where)
    _check_run_fields(spec, where)
    name = run_name_of(meta, where, run_name)
    task, task_where, task_name, task_meta = _task(spec, where, tasks)
    given = given_params(spec, where)
    overridden = {p.name for p in cli}
    workspaces = spec.get("workspaces", [])
    if not isinstance(workspaces, list):
        raise GenerateError(f"{where}: spec.workspaces: expected a list")
    pod_template = spec.get("podTemplate", {}) or {}
    if not isinstance(pod_template, dict):
        raise GenerateError(f"{where}: spec.podTemplate: expected an object")
    debug = spec.get("debug", {}) or {}
    if not isinstance(debug, dict):
        raise GenerateError(f"{where}: spec.debug: expected an object")
    sa = spec.get("serviceAccountName", "")
    if not isinstance(sa, str) or (sa and not DNS_SUBDOMAIN.match(sa)):
        raise GenerateError(f"{where}: spec.serviceAccountName: {quote(sa)} is not a DNS-1123 name")
    timeout = seconds(spec["timeout"], f"{where}: spec.timeout") if "timeout" in spec else None
    # as Tekton: the Task's labels and annotations reach the Pod too; the TaskRun's win
    labels = {**string_map(task_meta, "labels", task_where), **string_map(meta, "labels", where)}
    annotations = {**string_map(task_meta, "annotations", task_where), **string_map(meta, "annotations", where)}
    namespace = meta.get("namespace", "")
    if not isinstance(namespace, str) or (namespace and not DNS_LABEL.match(namespace)):
        raise GenerateError(f"{where}: metadata.namespace: {quote(namespace)} is not a DNS-1123 label")
    return Run(
        task=task, task_where=task_where, task_name=task_name, run_where=f"{where}: spec", name=name,
        namespace=namespace, uid=str(meta.get("uid") or uuid.uuid4()), labels=dict(labels),
        annotations=dict(annotations),
        params=tuple(p for p in given if p.name not in overridden) + cli,
        workspaces=tuple((w, f"{where}: spec.workspaces[{i}]") for i, w in enumerate(workspaces)),
        pod_template=pod_template, service_account=sa, timeout_seconds=timeout, timeout_given="timeout" in spec,
        debug=debug, embedded="taskSpec" in spec, step_actions=actions,
    )


def _bare_task(tasks: list[tuple[RawObject, str]], cli: tuple[ParamValue, ...], run_name: str) -> Run:
    """A Task and no TaskRun: run it as if a TaskRun named it, with the -p params only."""
    if not tasks:
        raise GenerateError("no Task, TaskRun, Pipeline or PipelineRun found (StepActions only run from a Task's steps)")
    if len(tasks) != 1:
        raise GenerateError(f"{tasks[1][1]}: a second Task and no TaskRun saying which one to run")
    doc, where = tasks[0]
    meta = metadata_of(doc, where)
    name = object_name(meta, where)
    return Run(task=spec_of(doc, where), task_where=f"{where}: spec", task_name=name, run_where="",
               name=run_name or f"{name}-run-{random_suffix()}", namespace="", uid=str(uuid.uuid4()), params=cli,
               labels=string_map(meta, "labels", where), annotations=string_map(meta, "annotations", where))


def _check_run_fields(spec: RawObject, where: str) -> None:
    for key in spec:
        if key in WARN_RUN_FIELDS:
            warn(f"{where}: spec.{key}: {WARN_RUN_FIELDS[key]}")
        elif key == "status":
            raise GenerateError(f"{where}: spec.status: {quote(spec[key])} is not supported (doll starts the run)")
        elif key not in RUN_FIELDS:
            raise GenerateError(f"{where}: spec.{key}: not supported by doll")


def run_name_of(meta: RawObject, where: str, run_name: str) -> str:
    """--name, else metadata.name, else generateName and a random suffix."""
    name = run_name or object_name(meta, where, required=False)
    if not name:
        prefix = meta.get("generateName")
        if not isinstance(prefix, str) or not prefix:
            raise GenerateError(f"{where}: metadata.name: missing (and no generateName)")
        name = prefix + random_suffix()
    if not DNS_SUBDOMAIN.match(name):
        raise GenerateError(f"{where}: metadata.name: {quote(name)} is not a DNS-1123 name")
    return name


def given_params(spec: RawObject, where: str) -> list[ParamValue]:
    params = spec.get("params", [])
    if not isinstance(params, list):
        raise GenerateError(f"{where}: spec.params: expected a list")
    given: list[ParamValue] = []
    for i, p in enumerate(params):
        pw = f"{where}: spec.params[{i}]"
        if not isinstance(p, dict) or not isinstance(p.get("name"), str) or not p.get("name"):
            raise GenerateError(f"{pw}.name: missing")
        if "value" not in p:
            raise GenerateError(f"{pw}.value: missing")
        given.append(ParamValue(p["name"], p["value"], pw))
    return given


def string_map(meta: RawObject, key: str, where: str) -> dict[str, str]:
    value = meta.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise GenerateError(f"{where.removesuffix(': spec')}: metadata.{key}: expected an object of strings")
    return {str(k): v for k, v in value.items()}


def _task(spec: RawObject, where: str,
          tasks: list[tuple[RawObject, str]]) -> tuple[RawObject, str, str, RawObject]:
    if "taskSpec" in spec and "taskRef" in spec:
        raise GenerateError(f"{where}: spec: both taskRef and taskSpec (give one)")
    if "taskSpec" in spec:
        if not isinstance(spec["taskSpec"], dict):
            raise GenerateError(f"{where}: spec.taskSpec: expected an object")
        return spec["taskSpec"], f"{where}: spec.taskSpec", "", {}
    ref: Any = spec.get("taskRef")
    if not isinstance(ref, dict):
        raise GenerateError(f"{where}: spec.taskRef: missing (a TaskRun needs taskRef or taskSpec)")
    for key in ref:
        if key not in ("name", "kind", "apiVersion"):
            raise GenerateError(f"{where}: spec.taskRef.{key}: not supported (doll resolves tasks from the "
                                "given files only)")
    if ref.get("kind", "Task") not in ("Task", "ClusterTask"):
        raise GenerateError(f"{where}: spec.taskRef.kind: {quote(ref.get('kind'))} is not supported")
    name = ref.get("name")
    if not isinstance(name, str) or not name:
        raise GenerateError(f"{where}: spec.taskRef.name: missing")
    for doc, task_where in tasks:
        if metadata_of(doc, task_where).get("name") == name:
            return spec_of(doc, task_where), f"{task_where}: spec", name, metadata_of(doc, task_where)
    raise GenerateError(f"{where}: spec.taskRef.name: task {quote(name)} is not among the given files")


def declared_name(decl: object, where: str, pattern: re.Pattern[str], rule: str, seen: set[str],
                  fields: tuple[str, ...]) -> str:
    """The name of one declaration in a list (a param, a result), checked: present, matching `pattern`, not
    seen before (it is added), and no field outside `fields`."""
    if not isinstance(decl, dict) or not isinstance(decl.get("name"), str) or not decl["name"]:
        raise GenerateError(f"{where}.name: missing")
    name: str = decl["name"]
    if not pattern.match(name):
        raise GenerateError(f"{where}.name: {quote(name)} is not {rule}")
    if name in seen:
        raise GenerateError(f"{where}.name: duplicate {quote(name)}")
    seen.add(name)
    for key in decl:
        if key not in fields:
            raise GenerateError(f"{where}.{key}: not supported by doll")
    return name
