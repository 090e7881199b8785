"""What the generator reads, once loaded: the task to run and how the TaskRun (or the CLI) binds it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypedDict

__all__ = ["ParamValue", "RawObject", "RawParamSpec", "Run"]

RawObject = dict[str, Any]


class RawParamSpec(TypedDict, total=False):
    name: str
    type: str
    default: Any
    enum: list[str]
    description: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class ParamValue:
    name: str
    value: Any  # str | list[str] | dict[str, str], as given
    where: str  # "run.yaml: spec.params[1]" or "-p NAME"


@dataclass(frozen=True)
class Run:
    """A Task spec and everything that binds it: from a TaskRun, or from a bare Task plus the CLI."""

    task: RawObject  # the Task's spec (or the TaskRun's taskSpec)
    task_where: str  # prefix for error messages: "task.yaml: spec" or "run.yaml: spec.taskSpec"
    task_name: str  # "" for an embedded taskSpec
    run_where: str  # "run.yaml: spec" ("" for a bare Task)
    name: str  # the TaskRun's name (generated for a bare Task or a generateName)
    namespace: str  # "" = not set: the Pod goes to kubectl's current namespace
    uid: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    params: tuple[ParamValue, ...] = ()
    workspaces: tuple[tuple[RawObject, str], ...] = ()  # (binding, where)
    pod_template: RawObject = field(default_factory=dict)
    service_account: str = ""
    timeout_seconds: float | None = None  # None: no timeout ("0"), or none given (see timeout_given)
    timeout_given: bool = False
    debug: RawObject = field(default_factory=dict)
    embedded: bool = False  # the TaskRun embeds its taskSpec: its params and workspaces propagate into it
    step_actions: tuple[tuple[RawObject, str], ...] = ()  # (StepAction document, where) given with the run
