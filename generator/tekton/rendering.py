"""Rendering the Pod: doll's init and supervisor containers, the wrapped steps and sidecars, the volumes.

    classic: initContainers [doll-init]; containers [doll-supervisor, sidecar-*, step-*]
             (a kubelet starts containers one at a time in this order, pulling each image first: the
             supervisor and sidecars come before the steps so they never wait for a step's image pull)
    native:  initContainers [doll-init, doll-supervisor*, sidecar-**]; containers [step-*]
             (* and **: restartPolicy Always; * with a startupProbe, so steps start once it listens)
"""

from __future__ import annotations

import dataclasses
import json
import math
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from contracts import layout as pod_layout
from contracts.layout import (
    DOLL_BIN, DOLL_RUN, INIT_CONTAINER, PLAN_PATH, RESULTS_DIR, SCRIPTS_DIR, SOCKET_PATH, STEPS_DIR,
    SUPERVISOR_CONTAINER, VOLUMES, WORKSPACE_DIR,
)
from generator.errors import GenerateError, quote
from generator.init.env_values import env_parts
from generator.tekton import naming, shapes
from generator.tekton.loading import DNS_LABEL
from generator.tekton.specs import RawObject, Run
from generator.tekton.substituting import Variables, known
from generator.tekton.wrapping import Wrapped
from generator.warning import warn
from contracts.plans import Plan

__all__ = ["CHANNEL_VOLUME", "DEADLINE_GRACE_SECONDS", "DOLL_UID", "Layout", "MAX_INIT_ENV_BYTES", "MEMORY_BACKED",
           "POD_TEMPLATE_FIELDS", "PodSource", "check_pod_template", "doll_security", "render", "STOP_SLACK_SECONDS",
           "task_volumes", "volume_names", "working_dirs"]

_VARIABLE = re.compile(r"\$\((?:params|context|workspaces)[^)]*\)")
MAX_INIT_ENV_BYTES = 1 << 20  # the init container's env in all: a Pod must stay under 1.5 MiB

DOLL_UID = 65532
POD_TEMPLATE_FIELDS = ("nodeSelector", "tolerations", "affinity", "securityContext", "volumes", "runtimeClassName",
                       "automountServiceAccountToken", "dnsPolicy", "dnsConfig", "enableServiceLinks",
                       "priorityClassName", "schedulerName", "imagePullSecrets", "hostAliases", "hostNetwork",
                       "topologySpreadConstraints", "env")
# doll-run (control socket, plan, journal) and doll-steps (exitCode, post files) sit on every hand-off's path:
# creating and renaming a small file on a node's disk took ~2 ms here (ext4), on tmpfs microseconds.  They
# hold a few KB per step; the limit only bounds a runaway.  The wrapper (doll-bin, 14 MB), results and
# scripts stay on disk.
MEMORY_BACKED = {"medium": "Memory", "sizeLimit": "64Mi"}
# each container's channel (layout.channel_volume) holds one socket and one verdict file of a few hundred bytes
CHANNEL_VOLUME = {"medium": "Memory", "sizeLimit": "1Mi"}
DEADLINE_GRACE_SECONDS = 60  # activeDeadlineSeconds = the task's timeout + this: the supervisor ends it first
STOP_SLACK_SECONDS = 15  # beyond the final scrape's linger: the sidecars' stop grace (10 s) and a margin


@dataclass(frozen=True)
class Layout:
    name: str  # "native" | "classic"
    image: str
    metrics_port: int


@dataclass(frozen=True)
class PodSource:
    """What the Pod takes from its run, a TaskRun's or a PipelineRun's."""

    name: str  # the Pod's
    namespace: str  # "": kubectl's current one
    labels: dict[str, str]  # all of them (Tekton's and doll's included)
    annotations: dict[str, str]  # the run's (doll adds its scrape annotations)
    pod_template: RawObject  # checked (check_pod_template)
    template_where: str  # "run.yaml: spec.podTemplate"
    service_account: str = ""
    volumes: tuple[tuple[RawObject, str], ...] = ()  # the tasks' own volumes, each with where it was given
    # each task's /tekton/results: a TaskRun's Pod has one, doll-results (the supervisor's too, read-only)
    results_volumes: tuple[str, ...] = (VOLUMES["results"],)


def doll_security() -> RawObject:
    return {"runAsNonRoot": True, "runAsUser": DOLL_UID, "runAsGroup": DOLL_UID, "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}}


def working_dirs(step_containers: list[RawObject]) -> list[str]:
    """The steps' workingDirs below /workspace, which `doll init` creates, world-writable, as Tekton's
    working-dir-initializer does (pkg/pod/workingdir_init.go: relative ones, and those under /workspace/;
    the generator made relative ones absolute).  The runtime creates any other (as root)."""
    dirs = {posixpath.normpath(c["workingDir"]) for c in step_containers}
    return sorted(d for d in dirs if d.startswith(WORKSPACE_DIR + "/"))


def _init(layout: Layout, plan: Plan, steps: list[str], scripts: list[tuple[str, str]],
          dirs: list[str]) -> RawObject:
    # every value is env_json's, in parts of at most 120,000 bytes: no `$` in it for the kubelet to expand,
    # and no env string over Linux's 128 KiB (init/env_values.py)
    values: list[tuple[str, object]] = [("DOLL_PLAN", json.loads(plan.to_json())), ("DOLL_STEPS", steps),
                                        ("DOLL_SCRIPT_NAMES", [name for name, _ in scripts])]
    values += [("DOLL_WORKING_DIRS", dirs)] if dirs else []
    values += [(f"DOLL_SCRIPT_{i}", text) for i, (_, text) in enumerate(scripts)]
    env: list[RawObject] = [{"name": k, "value": v} for key, value in values for k, v in env_parts(key, value)]
    size = sum(len(e["name"]) + len(e["value"].encode()) + 2 for e in env)
    if size > MAX_INIT_ENV_BYTES:
        raise GenerateError(f"spec: the scripts and the plan make {size} bytes of the init container's environment "
                            f"(doll places at most {MAX_INIT_ENV_BYTES}: Kubernetes keeps a Pod under 1.5 MiB)")
    return {
        "name": INIT_CONTAINER, "image": layout.image, "imagePullPolicy": "IfNotPresent",
        "command": ["doll", "init"], "env": env, "securityContext": doll_security(),
        "volumeMounts": [{"name": VOLUMES[v], "mountPath": p} for v, p in
                         (("bin", DOLL_BIN), ("run", DOLL_RUN), ("steps", STEPS_DIR),
                          ("scripts", SCRIPTS_DIR), *([("workspace", WORKSPACE_DIR)] if dirs else []))],
    }


def _channels(plan: Plan) -> list[tuple[str, str]]:
    """(volume, mountPath in the supervisor) of every step's and sidecar's channel."""
    owners = [("step", s.name, s.index) for s in plan.steps]
    owners += [("sidecar", c.name, i) for i, c in enumerate(plan.sidecars)]
    return [(pod_layout.channel_volume(kind, index), pod_layout.channel_dir(plan.channels_dir, kind, name))
            for kind, name, index in owners]


def _supervisor(layout: Layout, plan: Plan, results_volumes: tuple[str, ...]) -> RawObject:
    container: RawObject = {
        "name": SUPERVISOR_CONTAINER, "image": layout.image, "imagePullPolicy": "IfNotPresent",
        "command": ["doll", "supervise", "--plan", PLAN_PATH],
        # POD_IP: where the kubelet probes a sidecar with no host (prober.go runProbe), so doll's gate does too
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "doll-metrics", "containerPort": layout.metrics_port, "protocol": "TCP"}],
        "securityContext": doll_security(),
        "volumeMounts": [
            {"name": VOLUMES["run"], "mountPath": DOLL_RUN},
            {"name": VOLUMES["steps"], "mountPath": STEPS_DIR, "readOnly": True},
            *([{"name": VOLUMES["results"], "mountPath": RESULTS_DIR, "readOnly": True}]
              if VOLUMES["results"] in results_volumes else []),
            *({"name": volume, "mountPath": path} for volume, path in _channels(plan)),
        ],
    }
    if layout.name == "native":
        container["restartPolicy"] = "Always"
        container["startupProbe"] = {
            "exec": {"command": ["doll", "ctl", "--socket", SOCKET_PATH, "status"]},
            "periodSeconds": 1, "failureThreshold": 120, "timeoutSeconds": 5}
    return container


def task_volumes(task: RawObject, where: str) -> list[tuple[RawObject, str]]:
    """A Task's own volumes, each with where it is given."""
    user = task.get("volumes") or []
    if not isinstance(user, list):
        raise GenerateError(f"{where}.volumes: expected a list")
    return [(volume, f"{where}.volumes[{i}]") for i, volume in enumerate(user)]


def _volumes(user: list[tuple[RawObject, str]], extra: list[RawObject], template: list[RawObject],
             template_where: str, results_volumes: tuple[str, ...] = (VOLUMES["results"],)) -> list[RawObject]:
    volumes: list[RawObject] = []
    for key, doll_volume in VOLUMES.items():
        names = results_volumes if key == "results" else (doll_volume,)
        volumes += [{"name": v, "emptyDir": dict(MEMORY_BACKED) if key in ("run", "steps") else {}} for v in names]
    given = [*user, *((v, f"{template_where}.volumes[{i}]") for i, v in enumerate(template))]
    seen: set[str] = set()
    for volume, vw in given:
        name = volume.get("name") if isinstance(volume, dict) else None
        if not isinstance(name, str) or not DNS_LABEL.match(name):
            raise GenerateError(f"{vw}.name: {quote(name)} is not a DNS-1123 label")
        if name.startswith(naming.PREFIX):
            raise GenerateError(f"{vw}.name: {quote(name)} is reserved (doll's volumes start with doll-)")
        if name in seen:
            raise GenerateError(f"{vw}.name: duplicate {quote(name)}")
        seen.add(name)
    # a volume with no source is an emptyDir, as the API server defaults it (core/v1 SetDefaults_Volume)
    return volumes + extra + [v if set(v) - {"name"} else {**v, "emptyDir": {}} for v, _ in given]


def volume_names(task: RawObject, where: str, template: RawObject, template_where: str) -> set[str]:
    """The names of the task's and the podTemplate's volumes, checked: DNS labels, unique, not doll-*."""
    return {v["name"] for v in _volumes(task_volumes(task, where), [], list(template.get("volumes") or []),
                                        template_where) if not v["name"].startswith(naming.PREFIX)}


def check_pod_template(run: Run, params: Variables) -> Run:
    """The podTemplate checked, with the run's params substituted in its strings, as Tekton's
    ApplyPodTemplateReplacements does (pkg/reconciler/taskrun/resources/apply.go: string params, an object's
    keys, an array's items); any other variable stays as written, with a warning."""
    for key in run.pod_template:
        if key not in POD_TEMPLATE_FIELDS:
            raise GenerateError(f"{run.run_where}.podTemplate.{key}: not supported by doll")
    shapes.check(run.pod_template, shapes.POD_TEMPLATE, f"{run.run_where}.podTemplate")
    template = known(run.pod_template, params)
    found = _VARIABLE.search(json.dumps(template))
    if found:
        warn(f"{run.run_where}.podTemplate: {found.group(0)} is not substituted there (as in Tekton: a TaskRun's "
             "podTemplate takes its params only); it reaches the Pod as written")
    return dataclasses.replace(run, pod_template=template)


def render(source: PodSource, layout: Layout, plan: Plan, steps: list[Wrapped], sidecars: list[Wrapped],
           workspace_volumes: list[RawObject]) -> RawObject:
    template = source.pod_template
    annotations = {**source.annotations, "prometheus.io/scrape": "true",
                   "prometheus.io/port": str(layout.metrics_port), "prometheus.io/path": "/metrics"}
    metadata: RawObject = {"name": source.name, "labels": dict(source.labels), "annotations": annotations}
    if source.namespace:
        metadata["namespace"] = source.namespace
    scripts = [w.script for w in [*steps, *sidecars] if w.script is not None]
    step_containers = [w.container for w in steps]
    init = _init(layout, plan, [s.name for s in plan.steps], scripts, working_dirs(step_containers))
    supervisor = _supervisor(layout, plan, source.results_volumes)
    sidecar_containers = [w.container for w in sidecars]
    spec: RawObject = {"restartPolicy": "Never"}
    if layout.name == "native":
        for container in sidecar_containers:
            container["restartPolicy"] = "Always"
        spec["initContainers"] = [init, supervisor, *sidecar_containers]
        spec["containers"] = step_containers
    else:
        spec["initContainers"] = [init]
        spec["containers"] = [supervisor, *sidecar_containers, *step_containers]
    _check_ports(spec, layout.metrics_port)
    # no fsGroup of doll's own: its volumes are emptyDirs, which the kubelet makes 0777; a podTemplate's
    # fsGroup re-owns a volume only when its root does not match (not every file on every mount)
    security: Any = dict(template.get("securityContext") or {})
    if "fsGroup" in security:
        security.setdefault("fsGroupChangePolicy", "OnRootMismatch")
    if security:
        spec["securityContext"] = security
    for key in POD_TEMPLATE_FIELDS:
        if key in template and key not in ("securityContext", "volumes", "env"):
            spec[key] = template[key]
    if source.service_account:
        spec["serviceAccountName"] = source.service_account
    if plan.timeout_seconds is not None:
        spec["activeDeadlineSeconds"] = math.ceil(plan.timeout_seconds) + DEADLINE_GRACE_SECONDS
    # the grace the kubelet gives after SIGTERM (killContainersWithSyncResult): the supervisor serves the final
    # scrape for up to linger_seconds of it, and sidecars and steps stop within their own graces
    spec["terminationGracePeriodSeconds"] = max(30, math.ceil(plan.linger_seconds) + STOP_SLACK_SECONDS)
    channels = [{"name": volume, "emptyDir": dict(CHANNEL_VOLUME)} for volume, _ in _channels(plan)]
    spec["volumes"] = _volumes(list(source.volumes), [*channels, *workspace_volumes],
                               list(template.get("volumes") or []), source.template_where, source.results_volumes)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _check_ports(spec: RawObject, metrics_port: int) -> None:
    for container in [*spec["initContainers"], *spec["containers"]]:
        if container["name"] == SUPERVISOR_CONTAINER:
            continue
        for port in container.get("ports") or []:
            if isinstance(port, dict) and port.get("containerPort") == metrics_port:
                raise GenerateError(f"{container['name']}: port {metrics_port} is doll's metrics port "
                                    "(choose another with --metrics-port)")
