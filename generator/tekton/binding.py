"""Binding a task's workspaces to volumes: what each step mounts and what `$(workspaces.x.*)` says."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton import naming
from generator.tekton.loading import DNS_LABEL, declared_name
from generator.tekton.preparing import Prepared, check_not_reserved, mount_path, workspace_usages
from generator.tekton.specs import RawObject, Run
from generator.tekton.substituting import Key, Variables, string, walk
from generator.warning import warn

__all__ = ["Bound", "DECL_FIELDS", "SOURCES", "bind", "isolate"]

SOURCES = ("emptyDir", "configMap", "secret", "persistentVolumeClaim", "projected", "csi")
DECL_FIELDS = ("name", "description", "mountPath", "readOnly", "optional")


@dataclass(frozen=True)
class Bound:
    volumes: list[RawObject] = field(default_factory=list)
    variables: dict[Key, Any] = field(default_factory=dict)
    by_name: dict[str, RawObject] = field(default_factory=dict)  # each bound workspace's mount (isolate() says where)
    declared: set[str] = field(default_factory=set)  # bound or not (an optional one may be unbound)


def bind(run: Run, params: Variables, volume_names: Mapping[str, str] | None = None, pod: str = "") -> Bound:
    """Params are substituted in the bindings and mount paths first, as Tekton does.  A workspace's volume is
    `volume_names[workspace]` if given (a pipeline task's: the pipeline workspace's), else doll-ws-<workspace>.
    `pod`: the Pod's name (default: the run's Pod), which names a volumeClaimTemplate's claim."""
    decls = run.task.get("workspaces", []) or []
    where = f"{run.task_where}.workspaces"
    if not isinstance(decls, list):
        raise GenerateError(f"{where}: expected a list")
    bindings = _bindings(run)
    if run.embedded:  # docs/taskruns.md "Propagated Workspaces": an embedded spec need not declare them
        names = {d.get("name") for d in decls if isinstance(d, dict)}
        decls = [*decls, *({"name": name} for name in bindings if name not in names)]
    declared: set[str] = set()
    paths: dict[str, str] = {}  # normalized mountPath -> workspace
    bound = Bound(declared=declared)
    for i, decl in enumerate(decls):
        dw = f"{where}[{i}]"
        name = declared_name(decl, dw, DNS_LABEL, "a DNS-1123 label", declared, DECL_FIELDS)
        path = _mount_path(decl, dw, name, params, paths)
        volume = (volume_names or {}).get(name) or naming.workspace_volume(name)
        prefix = ("workspaces", name)
        binding: RawObject
        if name not in bindings:
            if decl.get("optional"):
                bound.variables.update({prefix + ("path",): "", prefix + ("bound",): "false",
                                        prefix + ("claim",): "", prefix + ("volume",): ""})
                continue
            if run.run_where:
                raise GenerateError(f"{run.run_where}.workspaces: workspace {quote(name)} is not bound "
                                    f"(declared at {dw})")
            warn(f"{dw}: workspace {name!r} is not bound; using an emptyDir")
            binding, bw = {"name": name, "emptyDir": {}}, dw
        else:
            binding, bw = bindings.pop(name)
            binding = walk(binding, params, bw)
        source, claim = _volume(binding, bw, volume, pod or naming.pod(run.name))
        bound.volumes.append(source)
        bound.by_name[name] = _mount(binding, bw, volume, path, bool(decl.get("readOnly")))
        bound.variables.update({prefix + ("path",): path, prefix + ("bound",): "true",
                                prefix + ("claim",): claim, prefix + ("volume",): volume})
    for name, (_, bw) in bindings.items():
        raise GenerateError(f"{bw}.name: the task declares no workspace {quote(name)}")
    return bound


def _bindings(run: Run) -> dict[str, tuple[RawObject, str]]:
    """The TaskRun's workspace bindings by name, each with where it was given."""
    bindings: dict[str, tuple[RawObject, str]] = {}
    for binding, bw in run.workspaces:
        if not isinstance(binding, dict) or not isinstance(binding.get("name"), str):
            raise GenerateError(f"{bw}.name: missing")
        if binding["name"] in bindings:
            raise GenerateError(f"{bw}.name: duplicate {quote(binding['name'])}")
        bindings[binding["name"]] = (binding, bw)
    return bindings


def _mount_path(decl: RawObject, dw: str, name: str, params: Variables, paths: dict[str, str]) -> str:
    """Where the workspace is mounted (params substituted); no two workspaces at one path."""
    path = decl.get("mountPath") or f"/workspace/{name}"
    if isinstance(path, str):
        path = string(path, params, f"{dw}.mountPath")
    if not isinstance(path, str) or not path.startswith("/"):
        raise GenerateError(f"{dw}.mountPath: {quote(path)} is not an absolute path")
    check_not_reserved(path, f"{dw}.mountPath")
    if mount_path(path) in paths:
        raise GenerateError(f"{dw}.mountPath: duplicate {quote(path)} (workspace "
                            f"{quote(paths[mount_path(path)])} is mounted there)")
    paths[mount_path(path)] = name
    return path


def _mount(binding: RawObject, bw: str, volume: str, path: str, read_only: bool) -> RawObject:
    """The volumeMount every step gets for one bound workspace."""
    mount: RawObject = {"name": volume, "mountPath": path}
    if read_only:
        mount["readOnly"] = True
    if binding.get("subPath"):
        if not isinstance(binding["subPath"], str) or binding["subPath"].startswith("/") or \
                ".." in binding["subPath"].split("/"):
            raise GenerateError(f"{bw}.subPath: {quote(binding['subPath'])} is not a relative path")
        mount["subPath"] = binding["subPath"]
    return mount


def _volume(binding: RawObject, bw: str, volume: str, pod: str) -> tuple[RawObject, str]:
    """The workspace's volume, and its claim's name ($(workspaces.x.claim)): a PVC's, or the one Kubernetes makes
    for a volumeClaimTemplate, which becomes the Pod's generic ephemeral volume: a PVC made from the template
    for this Pod and deleted with it (core/v1 EphemeralVolumeSource; the claim is named <pod>-<volume>), as
    Tekton makes one PVC per run from the template and deletes it with the run."""
    source = _source(binding, bw)
    if source == "volumeClaimTemplate":
        return {"name": volume, "ephemeral": {"volumeClaimTemplate": _claim_template(binding[source], bw)}}, \
            f"{pod}-{volume}"
    claim = (binding[source] or {}).get("claimName", "") if source == "persistentVolumeClaim" else ""
    if source == "persistentVolumeClaim" and (not isinstance(claim, str) or not claim):
        raise GenerateError(f"{bw}.persistentVolumeClaim.claimName: missing")
    return {"name": volume, source: binding[source] or {}}, claim


def _claim_template(template: RawObject, bw: str) -> RawObject:
    """A PVC as Tekton takes it (metadata, spec) as an ephemeral volume's template: its labels and
    annotations, its spec (a name or namespace of its own would be refused by the API server: the claim is
    named after the Pod)."""
    where = f"{bw}.volumeClaimTemplate"
    spec, meta = template.get("spec"), template.get("metadata") or {}
    if not isinstance(spec, dict) or not spec:
        raise GenerateError(f"{where}.spec: missing (a PersistentVolumeClaim's spec: accessModes, resources)")
    if not isinstance(meta, dict):
        raise GenerateError(f"{where}.metadata: expected an object")
    for key in template:
        if key not in ("metadata", "spec", "apiVersion", "kind", "status"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    for key in meta:
        if key not in ("labels", "annotations", "name"):
            raise GenerateError(f"{where}.metadata.{key}: not supported (the claim is the Pod's: <pod>-<volume>)")
    if meta.get("name"):
        warn(f"{where}.metadata.name: {meta['name']!r} is not used: the claim Kubernetes makes is named "
             "<pod>-<volume>, as Tekton names its own")
    kept = {k: meta[k] for k in ("labels", "annotations") if meta.get(k)}
    return {**({"metadata": kept} if kept else {}), "spec": spec}


def _source(binding: RawObject, where: str) -> str:
    for key in binding:
        if key not in ("name", "subPath", *SOURCES, "volumeClaimTemplate"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    sources = [k for k in (*SOURCES, "volumeClaimTemplate") if k in binding]
    if len(sources) != 1:
        raise GenerateError(f"{where}: needs exactly one of {', '.join(SOURCES)}, volumeClaimTemplate (got "
                            f"{len(sources)})")
    if binding[sources[0]] is not None and not isinstance(binding[sources[0]], dict):
        raise GenerateError(f"{where}.{sources[0]}: expected an object")
    return sources[0]


def isolate(bound: Bound, steps: list[Prepared], sidecars: list[Prepared]) -> tuple[list[RawObject],
                                                                                 list[Prepared], list[Prepared]]:
    """Isolated workspaces (docs/workspaces.md "Isolated Workspaces"; pkg/workspace/apply.go): a workspace
    that some step or sidecar lists in its `workspaces` is mounted in those only, at its own mountPath if it
    gives one; every other workspace is mounted in every step and sidecar.  Gives the shared mounts and the
    containers, each with its isolated mounts."""
    usages = {id(p): workspace_usages(p.spec, p.where) for p in [*steps, *sidecars]}
    isolated = {name for found in usages.values() for name, _ in found}
    for p in [*steps, *sidecars]:
        for i, (name, _) in enumerate(usages[id(p)]):
            if name not in bound.declared:
                raise GenerateError(f"{p.where}.workspaces[{i}].name: the task declares no workspace {quote(name)}")

    def own(p: Prepared) -> Prepared:
        mounts = tuple({**bound.by_name[name], **({"mountPath": path} if path else {})}
                       for name, path in usages[id(p)] if name in bound.by_name)  # an unbound optional: none
        return dataclasses.replace(p, workspace_mounts=mounts) if mounts else p
    shared = [m for name, m in bound.by_name.items() if name not in isolated]
    return shared, [own(p) for p in steps], [own(p) for p in sidecars]
