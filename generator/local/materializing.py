"""Secrets, ConfigMaps and PVCs given in `doll run`'s input, made for the local Pod as a kubelet makes them.

podman 4.3 kube play cannot be given them faithfully: it turns a Secret document into a podman secret that
a secret *volume* reads as YAML with its `data` values used as written (not base64-decoded), while a
`secretKeyRef` env var wants the same podman secret base64-encoded JSON (`secret ... is not valid JSON:
illegal base64 data`), so no one podman secret serves both; and each secret, configMap and PVC volume
becomes a podman named volume that outlives the pod.  So, for the objects given (generator/local/objects.py):

- a secret or configMap volume becomes a hostPath directory of this run holding one file per key (or per
  `items` entry, at its path), with `defaultMode` (0644) or the item's `mode`, mounted read-only;
- a persistentVolumeClaim volume of a given PVC becomes a directory of this run (empty, as a new claim);
- `secretKeyRef` / `configMapKeyRef` env vars and `envFrom` become plain values, as the kubelet resolves
  them (envFrom first, with its prefix; env entries after it win).

An object named but not given is left to podman as before; an `optional` one missing is what a kubelet
makes of it (an empty volume, no variable); a missing key of a given object, not optional, is refused.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

from generator.errors import GenerateError, quote
from generator.local.objects import Objects

__all__ = ["materializing"]

_DEFAULT_MODE = 0o644


def _source(objects: Objects, volume: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, bytes] | None]:
    if "secret" in volume:
        spec = volume["secret"] or {}
        return "secret", spec, objects.secrets.get(str(spec.get("secretName", "")))
    spec = volume["configMap"] or {}
    return "configMap", spec, objects.config_maps.get(str(spec.get("name", "")))


def _relative(path: Any, where: str) -> str:
    parts = PurePosixPath(str(path)).parts
    if not parts or str(path).startswith("/") or ".." in parts:
        raise GenerateError(f"{where}: {quote(path)} must be a relative path without '..'")
    return str(PurePosixPath(*parts))


def _files(kind: str, spec: dict[str, Any], values: dict[str, bytes], host: Path, where: str) -> None:
    mode = spec.get("defaultMode", _DEFAULT_MODE)
    items = spec.get("items") or [{"key": key, "path": key} for key in values]
    for i, item in enumerate(items):
        key = str(item.get("key", ""))
        if key not in values:
            if spec.get("optional"):
                continue
            raise GenerateError(f"{where}.items[{i}]: the {kind} has no key {quote(key)}")
        target = host / _relative(item.get("path", key), f"{where}.items[{i}].path")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(values[key])
        os.chmod(target, int(item.get("mode", mode)))


def _volumes(spec: dict[str, Any], objects: Objects, run_dir: Path) -> set[str]:
    """Given objects' volumes made host directories; the names of those volumes."""
    made: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name, host = str(volume.get("name", "")), run_dir / "objects" / str(volume.get("name", ""))
        where = f"the pod's spec.volumes[{i}]"
        if "persistentVolumeClaim" in volume:
            if (volume["persistentVolumeClaim"] or {}).get("claimName") not in objects.claims:
                continue
            del volume["persistentVolumeClaim"]
        elif "secret" in volume or "configMap" in volume:
            kind, source, values = _source(objects, volume)
            if values is None:  # not given: podman looks it up as before
                continue
            _files(kind, source, values, host, f"{where}.{kind}")
            del volume[kind]
            made.add(name)
        else:
            continue
        host.mkdir(parents=True, exist_ok=True)
        os.chmod(host, 0o755 if name in made else 0o777)
        volume["hostPath"] = {"path": str(host), "type": "Directory"}
    return made


_LEAVE, _DROP = "leave", "drop"  # not given: left to podman; optional and absent: no variable


def _value(refs: dict[str, Any], objects: Objects, where: str) -> str:
    """The variable's value, or _LEAVE or _DROP."""
    for key, known, kind in (("secretKeyRef", objects.secrets, "Secret"),
                             ("configMapKeyRef", objects.config_maps, "ConfigMap")):
        ref = refs.get(key)
        if not isinstance(ref, dict):
            continue
        values = known.get(str(ref.get("name", "")))
        item = str(ref.get("key", ""))
        if values is None:
            return _LEAVE
        if item in values:
            return values[item].decode("utf-8", errors="replace")
        if ref.get("optional"):
            return _DROP
        raise GenerateError(f"{where}.{key}: the {kind} {quote(ref.get('name'))} has no key {quote(item)}")
    return _LEAVE


def _env(container: dict[str, Any], objects: Objects) -> None:
    """Given objects' env vars made plain values, envFrom first, as the kubelet orders them."""
    env: list[dict[str, Any]] = []
    left: list[dict[str, Any]] = []
    for source in container.get("envFrom") or []:
        ref, known = (source["secretRef"], objects.secrets) if "secretRef" in source else \
            (source.get("configMapRef") or {}, objects.config_maps)
        values = known.get(str(ref.get("name", "")))
        if values is None:
            left.append(source)
            continue
        env += [{"name": source.get("prefix", "") + key, "value": value.decode("utf-8", errors="replace")}
                for key, value in values.items()]
    for i, entry in enumerate(container.get("env") or []):
        where = f"container {container.get('name', '')!r}.env[{i}].valueFrom"
        found = _value(entry.get("valueFrom") or {}, objects, where)
        if found == _LEAVE:
            env.append(entry)
        elif found != _DROP:
            env.append({"name": entry["name"], "value": found})
    container["env"], container["envFrom"] = env, left
    for key in ("env", "envFrom"):
        if not container[key]:
            del container[key]


def materializing(pod: dict[str, Any], objects: Objects, run_dir: Path) -> None:
    """Rewrite `pod` (the local copy) so the given objects need nothing from podman."""
    spec = pod.get("spec") or {}
    made = _volumes(spec, objects, run_dir)
    for container in list(spec.get("initContainers") or []) + list(spec.get("containers") or []):
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") in made:
                mount["readOnly"] = True
        _env(container, objects)
