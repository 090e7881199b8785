"""The shapes of the container and podTemplate fields doll passes through: lists, objects, strings.

Kubernetes would refuse a Pod whose `env` is a string; doll refuses it first, naming the field.
"""

from __future__ import annotations

from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.specs import RawObject

__all__ = ["CONTAINER", "POD_TEMPLATE", "PULL_POLICIES", "check"]

_LIST, _OBJECT, _STRING, _BOOL, _INT = "a list", "an object", "a string", "true or false", "an integer"
_TYPES: dict[str, tuple[type, ...]] = {_LIST: (list,), _OBJECT: (dict,), _STRING: (str,), _BOOL: (bool,),
                                       _INT: (int,)}
CONTAINER = {"env": _LIST, "envFrom": _LIST, "volumeMounts": _LIST, "volumeDevices": _LIST, "ports": _LIST,
             "computeResources": _OBJECT, "resources": _OBJECT, "securityContext": _OBJECT, "workingDir": _STRING,
             "imagePullPolicy": _STRING, "readinessProbe": _OBJECT, "livenessProbe": _OBJECT,
             "startupProbe": _OBJECT, "lifecycle": _OBJECT, "stdin": _BOOL, "tty": _BOOL, "script": _STRING,
             "timeout": _STRING, "onError": _STRING, "stdoutConfig": _OBJECT, "stderrConfig": _OBJECT,
             "results": _LIST, "command": _LIST, "args": _LIST}
POD_TEMPLATE = {"nodeSelector": _OBJECT, "tolerations": _LIST, "affinity": _OBJECT, "securityContext": _OBJECT,
                "volumes": _LIST, "runtimeClassName": _STRING, "automountServiceAccountToken": _BOOL,
                "dnsPolicy": _STRING, "dnsConfig": _OBJECT, "enableServiceLinks": _BOOL,
                "priorityClassName": _STRING, "schedulerName": _STRING, "imagePullSecrets": _LIST,
                "hostAliases": _LIST, "hostNetwork": _BOOL, "topologySpreadConstraints": _LIST, "env": _LIST}
PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def check(obj: RawObject, shapes: dict[str, str], where: str) -> None:
    """Each known field has its shape; list items are objects; env entries are named."""
    for key, shape in shapes.items():
        if key not in obj or obj[key] is None:
            continue
        value: Any = obj[key]
        if not isinstance(value, _TYPES[shape]) or (shape != _BOOL and isinstance(value, bool)):
            raise GenerateError(f"{where}.{key}: expected {shape}, got {quote(value)}")
        if isinstance(value, list) and key not in ("command", "args"):
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    raise GenerateError(f"{where}.{key}[{i}]: expected an object, got {quote(item)}")
                _item(key, item, f"{where}.{key}[{i}]")
    policy = obj.get("imagePullPolicy")
    if policy is not None and policy not in PULL_POLICIES:
        raise GenerateError(f"{where}.imagePullPolicy: {quote(policy)} is not one of {', '.join(PULL_POLICIES)}")


_ITEM_FIELDS = {"env": {"name": _STRING, "value": _STRING, "valueFrom": _OBJECT},
                "volumeMounts": {"name": _STRING, "mountPath": _STRING, "subPath": _STRING, "readOnly": _BOOL},
                "ports": {"containerPort": _INT, "name": _STRING, "protocol": _STRING}}


def _item(key: str, item: RawObject, where: str) -> None:
    fields = _ITEM_FIELDS.get(key, {})
    for field, shape in fields.items():
        value = item.get(field)
        if value is None:
            continue
        if not isinstance(value, _TYPES[shape]) or (shape != _BOOL and isinstance(value, bool)):
            hint = " (quote it)" if key == "env" and field == "value" and isinstance(value, (int, float)) else ""
            raise GenerateError(f"{where}.{field}: expected {shape}, got {quote(value)}{hint}")
    if key == "env" and not item.get("name"):
        raise GenerateError(f"{where}.name: missing")
