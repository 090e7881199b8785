"""Names doll gives Kubernetes objects: prefixed so they never collide, truncated to fit with a hash."""

from __future__ import annotations

import hashlib

from contracts import layout

__all__ = ["PREFIX", "fit", "pod", "qualified", "sidecar_container", "step_container", "workspace_volume"]

PREFIX = "doll-"


def fit(name: str, limit: int = 63) -> str:
    """`name` if it fits, else a prefix of it plus a 5-character hash of the whole (like Tekton)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:5]
    return name[: limit - 6].rstrip("-.") + "-" + digest


def qualified(task: str, name: str) -> str:
    """A step's or sidecar's name in the Pod: its own in a TaskRun's Pod; `<task>-<name>` in a PipelineRun's
    (fitted to a DNS label: the plan's step names are)."""
    return fit(f"{task}-{name}") if task else name


def workspace_volume(name: str) -> str:
    return fit(f"{PREFIX}ws-{name}")


def step_container(name: str) -> str:
    return fit(layout.step_container(name))


def sidecar_container(name: str) -> str:
    return fit(layout.sidecar_container(name))


def pod(run_name: str) -> str:
    return fit(f"{run_name}-pod", 253)
