"""The Kubernetes objects a task needs beside it, given in `doll run`'s input: Secrets, ConfigMaps and
PersistentVolumeClaims (apiVersion v1), taken out before the Task and TaskRun go to the translation.

A cluster has them already; `doll run` has only what it is given, so a TaskRun binding a secret, a
configMap or a PVC workspace, or a step reading a `secretKeyRef`, can come with them in the same YAML (or
another `-f` file).  The TaskRun's (or PipelineRun's) `volumeClaimTemplate` workspaces are taken here too: in a cluster
Tekton creates a fresh PVC for each run from the template (deleted with the TaskRun), so under `doll
run` each becomes an emptyDir, which `doll run` makes a fresh directory of this run, removed with it.
(`doll generate` makes each the Pod's generic ephemeral volume instead, which podman 4.3 cannot play.)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from generator.errors import GenerateError, quote
from generator.tekton.crediting import CredentialSecret, matching
from generator.tekton.loading import parse

__all__ = ["KINDS", "Objects", "credentials", "taking_objects"]

KINDS = ("Secret", "ConfigMap", "PersistentVolumeClaim", "ServiceAccount")


@dataclass
class Objects:
    secrets: dict[str, dict[str, bytes]] = field(default_factory=dict)  # name -> key -> value
    config_maps: dict[str, dict[str, bytes]] = field(default_factory=dict)
    claims: set[str] = field(default_factory=set)
    templates: list[str] = field(default_factory=list)  # workspaces bound with a volumeClaimTemplate
    # what Tekton's credential builders read of a Secret: name -> (type, annotations); never its values
    secret_kinds: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    service_accounts: dict[str, list[str]] = field(default_factory=dict)  # name -> its secrets' names
    service_account: str = "default"  # the TaskRun's serviceAccountName


def _decoded(value: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise GenerateError(f"{where}: not base64") from None


def _entries(doc: dict[str, Any], where: str, plain: str, encoded: str) -> dict[str, bytes]:
    """A Secret's data (base64) and stringData (wins, as the API server merges it), or a ConfigMap's data and
    binaryData (base64), as bytes."""
    values: dict[str, bytes] = {}
    for key, decode in ((encoded, True), (plain, False)):
        part = doc.get(key) or {}
        if not isinstance(part, dict):
            raise GenerateError(f"{where}.{key}: expected an object")
        for name, value in part.items():
            values[str(name)] = _decoded(value, f"{where}.{key}.{name}") if decode else str(value).encode()
    return values


def _taking(objects: Objects, doc: dict[str, Any], where: str) -> None:
    kind, name = doc["kind"], (doc.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise GenerateError(f"{where}: metadata.name: missing")
    kinds: dict[str, dict[str, Any]] = {"Secret": objects.secrets, "ConfigMap": objects.config_maps,
                                        "ServiceAccount": objects.service_accounts}
    found = kinds.get(kind, {})
    if name in found or (kind == "PersistentVolumeClaim" and name in objects.claims):
        raise GenerateError(f"{where}: a second {kind} named {quote(name)}")
    if kind == "Secret":
        objects.secrets[name] = _entries(doc, where, "stringData", "data")
        annotations = (doc.get("metadata") or {}).get("annotations") or {}
        if not isinstance(annotations, dict):
            raise GenerateError(f"{where}: metadata.annotations: expected an object")
        objects.secret_kinds[name] = (str(doc.get("type") or "Opaque"), {str(k): str(v) for k, v in annotations.items()})
    elif kind == "ServiceAccount":
        secrets = doc.get("secrets") or []
        if not isinstance(secrets, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str)
                                                    for s in secrets):
            raise GenerateError(f"{where}.secrets: expected a list of {{name: ...}}")
        objects.service_accounts[name] = [s["name"] for s in secrets]
    elif kind == "ConfigMap":
        objects.config_maps[name] = _entries(doc, where, "data", "binaryData")
    else:
        objects.claims.add(name)


def _service_account(spec: dict[str, Any]) -> str:
    """The run's ServiceAccount: a TaskRun's or v1beta1 PipelineRun's serviceAccountName, a v1 PipelineRun's
    taskRunTemplate.serviceAccountName."""
    template = spec.get("taskRunTemplate")
    name = template.get("serviceAccountName") if isinstance(template, dict) else None
    return str(name or spec.get("serviceAccountName") or "default")


def _templates_made_empty(doc: dict[str, Any], objects: Objects) -> bool:
    """A TaskRun's or PipelineRun's volumeClaimTemplate workspaces bound to an emptyDir instead (the Pipeline's
    tasks share the one Pod, so one emptyDir is the one PVC Tekton makes for the PipelineRun); True if there
    was one."""
    spec = doc.get("spec")
    workspaces = spec.get("workspaces") if isinstance(spec, dict) else None
    changed = False
    for binding in workspaces if isinstance(workspaces, list) else []:
        if isinstance(binding, dict) and "volumeClaimTemplate" in binding:
            del binding["volumeClaimTemplate"]
            binding["emptyDir"] = {}
            objects.templates.append(str(binding.get("name", "")))
            changed = True
    return changed


def taking_objects(sources: Sequence[tuple[str, str]]) -> tuple[tuple[tuple[str, str], ...], Objects]:
    """The sources without their Secrets, ConfigMaps and PVCs (each Task or TaskRun then its own source,
    named where it was), and those objects; the sources unchanged when there are none."""
    objects = Objects()
    kept: list[tuple[str, str]] = []
    changed = False
    for doc, where in parse(sources):
        if doc.get("kind") in KINDS and doc.get("apiVersion") == "v1":
            _taking(objects, doc, where)
            changed = True
            continue
        if doc.get("kind") in ("TaskRun", "PipelineRun") and isinstance(doc.get("spec"), dict):
            objects.service_account = _service_account(doc["spec"])
        if doc.get("kind") in ("TaskRun", "PipelineRun") and _templates_made_empty(doc, objects):
            changed = True
        kept.append((where, yaml.safe_dump(doc, sort_keys=False)))
    if changed and not kept:
        names = ", ".join(name for name, _ in sources) or "stdin"
        raise GenerateError(f"{names}: no Task, TaskRun, Pipeline or PipelineRun found (only Secrets, ConfigMaps and "
                            "PersistentVolumeClaims, which doll run plays with a run)")
    return (tuple(kept) if changed else tuple(sources)), objects


def credentials(objects: Objects) -> tuple[CredentialSecret, ...]:
    """The given Secrets Tekton's creds-init would use (pkg/pod/creds_init.go): those the TaskRun's
    ServiceAccount lists when its document is given, else every Secret given, as if it listed them all."""
    if objects.service_accounts:
        names = objects.service_accounts.get(objects.service_account)
        if names is None:
            raise GenerateError(f"the run's ServiceAccount {quote(objects.service_account)} is not among the "
                                f"ServiceAccounts given ({', '.join(sorted(objects.service_accounts))})")
        missing = [n for n in names if n not in objects.secret_kinds]
        if missing:
            raise GenerateError(f"ServiceAccount {quote(objects.service_account)} lists Secret {quote(missing[0])}, "
                                "which is not given")
    else:
        names = list(objects.secret_kinds)
    return tuple(c for name in names for c in matching(name, *objects.secret_kinds[name]))
