"""One Task run translated into its parts: steps and sidecars prepared, then wrapped, with their plans and volumes.

A TaskRun's Pod holds one Task (generating.py).  A PipelineRun's Pod holds one per pipeline task
(pipelines/assembling.py): each prepared `InPipeline` (its steps, sidecars, scripts, step dirs and volumes named
`<task>-<name>`, its workspaces on the pipeline workspaces' volumes, the PipelineRun's podTemplate), then
wrapped at its `Placement` (its first step's index in the Pod, its own /tekton/results volume, every step waiting
for the supervisor).  Preparing and wrapping are apart because the images of all tasks are looked up in one batch
between them, and a step's wrapper needs the Pod's container count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts.layout import VOLUMES
from contracts.plans import ProbeSpec, ResultSpec, SidecarPlan, StepPlan
from generator.images.sources import Platforms
from generator.tekton import naming, step_actions
from generator.tekton.binding import bind, isolate
from generator.tekton.preparing import Prepared, prepare_sidecars, prepare_steps
from generator.tekton.rendering import check_pod_template, task_volumes, volume_names
from generator.tekton.resolving import resolve
from generator.tekton.specs import RawObject, Run
from generator.tekton.step_results import declared_results, task_result_files
from generator.tekton.substituting import param_variables, walk
from generator.tekton.task_checks import (breakpoints, check_task, probes, result_names, result_specs, running,
                                          task_variables)
from generator.tekton.wrapping import Shared, Wrapped, wrap_sidecar, wrap_step

__all__ = ["InPipeline", "Placement", "PreparedTask", "TaskParts", "prepare_task", "wrap_task"]


@dataclass(frozen=True)
class InPipeline:
    """A pipeline task's names and shared things in its PipelineRun's Pod."""

    task: str  # the pipeline task's name (a matrix copy's: <name>-<index>), the prefix of its names
    pod_template: RawObject  # the PipelineRun's, checked once for the Pod: the task's own is not read
    workspace_volumes: Mapping[str, str] = field(default_factory=dict)  # its workspace -> the Pod's volume
    pod: str = ""  # the Pod's name (a volumeClaimTemplate's claim is named after it)


@dataclass(frozen=True)
class Placement:
    """Where a prepared Task's containers go among the Pod's."""

    first_step: int = 0  # its first step's index among the Pod's steps
    first_sidecar: int = 0  # its first sidecar's among the Pod's sidecars
    results_volume: str = VOLUMES["results"]  # its /tekton/results
    await_supervisor: bool = False  # a pipeline's steps always wait for the supervisor (never the file chain)
    container_count: int = 0  # the Pod's containers, init containers included


@dataclass(frozen=True)
class PreparedTask:
    run: Run  # params resolved, podTemplate checked, StepActions resolved, volumes substituted
    steps: tuple[Prepared, ...]  # those whose `when` holds
    sidecars: tuple[Prepared, ...]
    probes: tuple[ProbeSpec | None, ...]  # each sidecar's readinessProbe, for the plan
    shared: Shared  # what its steps share (placement fields still unset)
    results: tuple[ResultSpec, ...]  # its declared results
    workspace_volumes: tuple[RawObject, ...]  # its bound workspaces' volumes
    volumes: tuple[tuple[RawObject, str], ...]  # its own volumes (in a pipeline: renamed <task>-<name>), with where


@dataclass(frozen=True)
class TaskParts:
    steps: tuple[Wrapped, ...]  # containers and scripts
    step_plans: tuple[StepPlan, ...]
    sidecars: tuple[Wrapped, ...]
    sidecar_plans: tuple[SidecarPlan, ...]


def prepare_task(run: Run, pipeline: InPipeline | None = None) -> PreparedTask:
    """The Task's steps and sidecars checked, merged, substituted, with everything its wrappers share."""
    check_task(run.task, run.task_where)
    results = result_names(run.task, run.task_where)
    param_values = param_variables(resolve(run))
    if pipeline is None:
        run = check_pod_template(run, param_values)
    else:
        run = dataclasses.replace(run, pod_template=pipeline.pod_template)
    run = step_actions.resolve(run, param_values)
    bound = bind(run, param_values, pipeline.workspace_volumes if pipeline else None, pipeline.pod if pipeline else "")
    variables = task_variables(run, param_values, bound.variables, results)
    run = dataclasses.replace(run, task={**run.task, "volumes": walk(
        run.task.get("volumes") or [], variables, f"{run.task_where}.volumes")})
    volumes = volume_names(run.task, run.task_where, run.pod_template, f"{run.run_where}.podTemplate")
    volumes |= {v["name"] for v in bound.volumes}  # $(workspaces.x.volume) in a volumeMount (variables.md)
    task = pipeline.task if pipeline else ""
    steps = running(prepare_steps(run.task, run.task_where, variables, volumes, task), run.task_where)
    sidecars = prepare_sidecars(run.task, run.task_where, variables, volumes)
    shared_mounts, steps, sidecars = isolate(bound, steps, sidecars)
    sidecar_probes = probes(sidecars)
    on_failure, before = breakpoints(run, [s.name for s in steps])
    declared = {s.name: declared_results(s.spec.get("results")) for s in steps}
    shared = Shared(shared_mounts, list(run.pod_template.get("env") or []), results, on_failure, before,
                    task_result_files(run.task, run.task_where, declared, task), task=task)
    own = task_volumes(run.task, run.task_where)
    if task:
        own, steps, sidecars = _renamed(task, own, steps, sidecars)
    return PreparedTask(run, tuple(steps), tuple(sidecars), tuple(sidecar_probes), shared,
                        result_specs(run.task, run.task_where), tuple(bound.volumes), tuple(own))


def _renamed(task: str, own: list[tuple[RawObject, str]], steps: list[Prepared], sidecars: list[Prepared]) -> tuple[
        list[tuple[RawObject, str]], list[Prepared], list[Prepared]]:
    """A pipeline task's own volumes named `<task>-<name>` (fitted), and its containers' mounts of them: two
    tasks' volumes never meet."""
    names = {v["name"]: naming.fit(f"{task}-{v['name']}") for v, _ in own if isinstance(v, dict) and
             isinstance(v.get("name"), str)}

    def mounts(p: Prepared) -> Prepared:
        spec = dict(p.spec)
        for key in ("volumeMounts", "volumeDevices"):
            if spec.get(key):
                spec[key] = [{**m, "name": names.get(m.get("name"), m.get("name"))} for m in spec[key]]
        return dataclasses.replace(p, spec=spec)
    renamed = [({**v, "name": names.get(v.get("name"), v.get("name"))} if isinstance(v, dict) else v, where)
               for v, where in own]
    return renamed, [mounts(p) for p in steps], [mounts(p) for p in sidecars]


def wrap_task(prepared: PreparedTask, placement: Placement, images: dict[str, Platforms]) -> TaskParts:
    """Its containers at their place in the Pod, with their plans."""
    shared = dataclasses.replace(prepared.shared, await_supervisor=placement.await_supervisor,
                                 container_count=placement.container_count, results_volume=placement.results_volume)
    steps, wrapped_steps, step_plans = prepared.steps, [], []
    for i, step in enumerate(steps):
        wrapped, step_plan = wrap_step(step, placement.first_step + i, steps[i - 1].name if i else None, shared,
                                       images)
        wrapped_steps.append(wrapped)
        step_plans.append(step_plan)
    sidecars = [wrap_sidecar(s, placement.first_sidecar + i, shared, images) for i, s in enumerate(prepared.sidecars)]
    sidecar_plans = [SidecarPlan(name=naming.qualified(shared.task, s.name), container=w.container["name"],
                                 probe=probe) for s, w, probe in zip(prepared.sidecars, sidecars, prepared.probes)]
    return TaskParts(tuple(wrapped_steps), tuple(step_plans), tuple(sidecars), tuple(sidecar_plans))
