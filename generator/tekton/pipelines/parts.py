"""What reading a PipelineRun hands to assembling its Pod: each pipeline task as a Task run, with its plan.

The contract between generator/tekton/pipelines/reading (the PipelineRun read, checked, ordered, bound) and
generator/tekton/pipelines/assembling (every task's steps and sidecars in one Pod, one plan).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.task_plans import PipelinePlan, TaskPlan
from generator.tekton.specs import RawObject, Run

__all__ = ["PipelineParts", "PipelineTask"]


@dataclass(frozen=True)
class PipelineTask:
    """One pipeline task (one matrix combination) as a Task run, ready for the Task translation.

    `run.task` is its Task's spec; `run.params` its params, with the pipeline's params replaced and any
    `$(tasks.X.results.Y...)`, `$(tasks.X.status)`, `$(tasks.status)` left as text for the supervisor (an array
    param given `$(tasks.X.results.Y[*])` is the one-element list `["$(tasks.X.results.Y[*])"]`; an object param
    given `$(tasks.X.results.Y[*])` is `{key: "$(tasks.X.results.Y.key)"}` for each declared key);
    `run.workspaces` its bindings: the PipelineRun's binding of the pipeline workspace it maps, under the task's
    workspace name, with the subPaths joined.  `plan.refs` is empty: assembling fills it from the steps."""

    plan: TaskPlan
    run: Run
    where: str  # "run.yaml: spec.pipelineSpec.tasks[2]" (a matrix copy: "... tasks[2] (matrix combination 1)")
    workspace_sources: tuple[tuple[str, str], ...] = ()  # (task workspace, pipeline workspace) for each binding


@dataclass(frozen=True)
class PipelineParts:
    """The PipelineRun: its tasks in an order where each comes after what it runs after, finally tasks last."""

    name: str  # the PipelineRun's name (generated from generateName or the Pipeline's name when absent)
    namespace: str
    uid: str
    where: str  # "run.yaml: spec"
    pipeline: PipelinePlan
    tasks: tuple[PipelineTask, ...]
    timeout_seconds: float | None = None  # timeouts.pipeline (or timeout), else the default
    timeout_given: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    pod_template: RawObject = field(default_factory=dict)  # taskRunTemplate.podTemplate (v1) / podTemplate
    service_account: str = ""  # taskRunTemplate.serviceAccountName (v1) / serviceAccountName
    workspaces: tuple[tuple[RawObject, str], ...] = ()  # the PipelineRun's workspace bindings (binding, where)
