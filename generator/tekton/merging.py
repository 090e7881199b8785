"""stepTemplate merging, as Tekton does it: a strategic merge of the template with each step.

Objects merge key by key (the step wins); `env` merges by name and `volumeMounts` by mountPath (the
step's entry wins, template entries come first); every other list (command, args, envFrom) is replaced.
"""

from __future__ import annotations

from typing import Any

from generator.tekton.specs import RawObject

__all__ = ["merge", "merge_lists"]

_MERGE_KEYS = {"env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "ports": "containerPort"}


def merge_lists(base: list[Any], over: list[Any], key: str) -> list[Any]:
    over_by_key = {item.get(key): item for item in over if isinstance(item, dict)}
    out = [over_by_key.get(item.get(key), item) if isinstance(item, dict) else item for item in base]
    base_keys = {item.get(key) for item in base if isinstance(item, dict)}
    return out + [item for item in over if not (isinstance(item, dict) and item.get(key) in base_keys)]


def merge(template: RawObject, step: RawObject) -> RawObject:
    out: RawObject = dict(template)
    for key, value in step.items():
        base = out.get(key)
        if key in _MERGE_KEYS and isinstance(base, list) and isinstance(value, list):
            out[key] = merge_lists(base, value, _MERGE_KEYS[key])
        elif isinstance(base, dict) and isinstance(value, dict):
            out[key] = merge(base, value)
        else:
            out[key] = value
    return out
