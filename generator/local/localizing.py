"""Adapting a generated Pod to what `podman kube play` (4.3) really does, the way a kubelet would.

Podman 4.3 differs from a kubelet in ways that break doll's Pod layout, so `doll run` rewrites the Pod
(a copy) before playing it:

- an emptyDir becomes a podman *named* volume called after the Kubernetes volume: two pods with a
  `doll-steps` volume would share it, and it outlives the pod. -> every emptyDir becomes a hostPath
  directory of this run (mode 0777, like a kubelet's emptyDir), removed with the run.
- `subPath` is ignored (the whole volume is mounted). -> each subPath mount becomes its own hostPath
  volume of the subdirectory, made before the pod starts. Under a kubelet such a directory is made by
  the init container that mounts the whole volume (doll-init makes /tekton/steps/step-*), so it is
  owned by that container's user, who may chmod it.
- nothing is mounted at terminationMessagePath (writing /dev/termination-log fails for non-root).
  -> a host file per container is bind-mounted there, as the kubelet does; `doll run` reads it back.
- the supervisor's metrics port is published on 127.0.0.1 at a free host port, so `doll run` and tests
  can scrape /metrics (`/status` answers the Pod's loopback only: `doll run` replays the journal).
- kube play runs only hostPath, emptyDir, configMap, secret and persistentVolumeClaim volumes (its
  VolumeFromSource): any other (projected, csi, downwardAPI...) made it exit 125 with `failed to create
  volume`. -> refused up front in one line naming the Pod's field and the volume.  Only here: a cluster
  runs them, so `doll generate` keeps them.
- a secret volume without `optional` crashes kube play 4.3.1 (a nil pointer dereference in
  VolumeFromSecret). -> `optional: false`, Kubernetes' default, is written out.
- env values are passed as written, where a kubelet expands `$(VAR)` and `$$` in them. -> expanded here
  as the kubelet does (generator/local/expanding.py).
- an annotation value over 63 bytes makes kube play refuse the whole Pod (`value length exceeds
  Kubernetetes max 63`; a kubelet takes up to 256 KiB), and the catalog's `tekton.dev/platforms` and
  `tekton.dev/displayName` often are. -> left out of the local Pod with one warning naming them:
  annotations do not change how the Pod runs.  `doll generate` keeps them.
"""

from __future__ import annotations

import copy
import os
import socket
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from contracts.layout import SUPERVISOR_CONTAINER
from contracts.errors import InputError
from generator.local.expanding import expanding_env
from generator.local.materializing import materializing
from generator.local.objects import Objects
from generator.warning import warn

__all__ = ["LocalPod", "LocalizeError", "free_port", "localize"]

TERMINATION_DEFAULT = "/dev/termination-log"
MAX_ANNOTATION_BYTES = 63  # podman 4.3 kube play refuses a Pod with a longer annotation value
PODMAN_VOLUMES = ("hostPath", "emptyDir", "configMap", "secret", "persistentVolumeClaim")  # what kube play runs


class LocalizeError(InputError):
    """The Pod cannot run under podman; one line."""


@dataclass(frozen=True)
class LocalPod:
    pod: dict[str, Any]  # the rewritten Pod, ready for `podman kube play`
    run_dir: Path  # host directory holding this run's volumes and termination files
    volumes: dict[str, Path]  # Kubernetes volume name (an emptyDir) -> its host directory
    termination_files: dict[str, Path]  # container name -> host file behind its terminationMessagePath
    metrics_host_port: int | None  # where the supervisor's metrics port is published on 127.0.0.1


def free_port() -> int:
    """A free TCP port on 127.0.0.1, for the supervisor's published metrics port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _mkdir(path: Path, owner: int | None = None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o777)  # a kubelet's emptyDir: writable whatever uid a container runs as
    if owner is not None and os.geteuid() == 0:
        os.chown(path, owner, owner)


def _maker(spec: dict[str, Any], volume: str) -> int | None:
    """The user of the first init container that mounts the whole `volume`: it makes its subdirectories."""
    for container in spec.get("initContainers") or []:
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") == volume and not mount.get("subPath"):
                user = (container.get("securityContext") or {}).get("runAsUser",
                        (spec.get("securityContext") or {}).get("runAsUser"))
                return user if isinstance(user, int) else None
    return None


def _safe_sub_path(sub_path: str, where: str) -> str:
    parts = PurePosixPath(sub_path).parts
    if not parts or sub_path.startswith("/") or ".." in parts:
        raise LocalizeError(f"{where}.subPath: {sub_path!r} must be a relative path without '..'")
    return str(PurePosixPath(*parts))


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


def localize(pod: dict[str, Any], run_dir: Path, metrics_host_port: int | None,
             objects: Objects | None = None) -> LocalPod:
    """Rewrite a copy of `pod` for podman, creating its host directories under `run_dir`; the Secrets,
    ConfigMaps and PVCs in `objects` made as a kubelet makes them."""
    pod = copy.deepcopy(pod)
    if objects is not None:
        materializing(pod, objects, run_dir)
    _drop_long_annotations(pod.setdefault("metadata", {}))
    spec = pod.setdefault("spec", {})
    volumes: list[dict[str, Any]] = spec.setdefault("volumes", [])
    _check_volume_sources(volumes)
    hosts: dict[str, Path] = {}
    for volume in volumes:
        name = volume.get("name", "")
        if "emptyDir" in volume:
            host = run_dir / "volumes" / name
            _mkdir(host)
            del volume["emptyDir"]
            volume["hostPath"] = {"path": str(host), "type": "Directory"}
            hosts[name] = host
        elif "hostPath" in volume:
            hosts[name] = Path(volume["hostPath"]["path"])
        elif "secret" in volume:  # Kubernetes' default, written out: podman 4.3.1 dereferences it unchecked
            volume["secret"] = {**(volume["secret"] or {})}
            volume["secret"].setdefault("optional", False)
    extra: list[dict[str, Any]] = []
    termination: dict[str, Path] = {}
    for container in _containers(spec):
        cname = container.get("name", "")
        if cname == SUPERVISOR_CONTAINER:  # podman 4.3 kube play refuses fieldRef status.podIP; the supervisor
            container["env"] = [e for e in container.get("env") or [] if e.get("name") != "POD_IP"]  # then
        expanding_env(container)  # probes its hostname's address, which podman maps to the pod's IP
        for i, mount in enumerate(container.get("volumeMounts") or []):
            sub_path = mount.get("subPath")
            if not sub_path:
                continue
            where = f"container {cname!r}.volumeMounts[{i}]"
            if mount.get("name") not in hosts:
                raise LocalizeError(f"{where}: subPath is only supported on emptyDir and hostPath volumes here")
            host = hosts[mount["name"]] / _safe_sub_path(sub_path, where)
            _mkdir(host, _maker(spec, mount["name"]))
            volume_name = f"doll-local-{len(extra)}"
            extra.append({"name": volume_name, "hostPath": {"path": str(host), "type": "Directory"}})
            mount["name"] = volume_name
            del mount["subPath"]
        path = container.get("terminationMessagePath") or TERMINATION_DEFAULT
        host_file = run_dir / "termination" / cname
        host_file.parent.mkdir(parents=True, exist_ok=True)
        host_file.touch()
        os.chmod(host_file, 0o666)
        termination[cname] = host_file
        volume_name = f"doll-local-{len(extra)}"
        extra.append({"name": volume_name, "hostPath": {"path": str(host_file), "type": "File"}})
        container.setdefault("volumeMounts", []).append({"name": volume_name, "mountPath": path})
    volumes.extend(extra)
    if metrics_host_port is not None:
        _publish_metrics(spec, metrics_host_port)
    return LocalPod(pod=pod, run_dir=run_dir, volumes={k: v for k, v in hosts.items() if str(v).startswith(
        str(run_dir))}, termination_files=termination, metrics_host_port=metrics_host_port)


def _check_volume_sources(volumes: list[dict[str, Any]]) -> None:
    """Refuse, before anything is made, a volume podman 4.3 kube play cannot create."""
    for i, volume in enumerate(volumes):
        name = volume.get("name", "")
        sources = [key for key in volume if key != "name"]
        where = f"the pod's spec.volumes[{i}]"
        unsupported = [key for key in sources if key not in PODMAN_VOLUMES]
        if unsupported:
            raise LocalizeError(f"{where}.{unsupported[0]} (volume {name!r}): not supported by podman 4.3 kube play, "
                                f"which runs only {', '.join(PODMAN_VOLUMES)} volumes")
        if not sources:
            raise LocalizeError(f"{where} (volume {name!r}): no volume source (one of {', '.join(PODMAN_VOLUMES)})")


def _drop_long_annotations(metadata: dict[str, Any]) -> None:
    annotations = metadata.get("annotations") or {}
    long = sorted(name for name, value in annotations.items() if len(str(value).encode()) > MAX_ANNOTATION_BYTES)
    for name in long:
        del annotations[name]
    if long:
        warn(f"metadata.annotations {', '.join(long)}: values over {MAX_ANNOTATION_BYTES} bytes, which podman "
             "4.3 kube play refuses; left out of the local pod (annotations do not affect the run)")


def _publish_metrics(spec: dict[str, Any], host_port: int) -> None:
    for container in _containers(spec):
        if container.get("name") != SUPERVISOR_CONTAINER:
            continue
        ports = container.get("ports") or []
        if not ports:
            raise LocalizeError(f"container {SUPERVISOR_CONTAINER!r} declares no metrics port")
        ports[0]["hostPort"] = host_port
        ports[0]["hostIP"] = "127.0.0.1"
        return
    raise LocalizeError(f"the Pod has no {SUPERVISOR_CONTAINER!r} container (generate it with the classic layout)")
