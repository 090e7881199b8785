"""A PipelineRun's Pod: every pipeline task's steps and sidecars in ONE Pod, driven by one supervisor, one plan.

    containers    step-<task>-<step> (plan step `<task>-<step>`, StepPlan.task = the task), sidecar-<task>-<sidecar>
                  (naming.qualified fits a long one to 63 characters with a hash; two that come out the same are
                  refused in one line, never renamed behind the user's back)
    steps         each task's in order, the tasks in the plan's order; every step waits for the supervisor (a file
                  chain cannot express a DAG); a task's step dirs, `$(steps.<step>.results.<r>)` and
                  `$(steps.step-<step>.exitCode.path)` are its qualified names'
    volumes       each task its own /tekton/results (doll-results-t<i>); a pipeline workspace is one volume,
                  doll-ws-<pipeline workspace>, mounted by every task that maps it (each at its own path and
                  subPath); a Task's own volumes are named <task>-<volume>
    init          the scripts and working dirs of every task
    plan          Plan.tasks in the order given (reading's: each after what it runs after), each task's refs
                  (pipelines/referencing.py), Plan.pipeline; the PodIdentity names the PipelineRun
    the rest      image lookups in one batch, credentials, resources, RBAC and pod security as for a Task
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from contracts.layout import CHANNELS_DIR, DOLL_RUN, STEPS_DIR, task_results_volume
from contracts.plans import Plan, PodIdentity
from contracts.task_plans import TaskPlan
from generator.errors import GenerateError, quote
from generator.tekton import naming
from generator.tekton.generate_options import GenerateOptions
from generator.tekton.generating import check_plan, finish
from generator.tekton.looking_up import lookups
from generator.tekton.pipelines.parts import PipelineParts, PipelineTask
from generator.tekton.pipelines.referencing import tasks_of, with_refs
from generator.tekton.rendering import Layout, PodSource, check_pod_template, render
from generator.tekton.resources import fit_tasks
from generator.tekton.specs import RawObject, Run
from generator.tekton.task_parts import InPipeline, Placement, PreparedTask, TaskParts, prepare_task, wrap_task

__all__ = ["generate_pipeline"]


def generate_pipeline(parts: PipelineParts, options: GenerateOptions) -> list[dict[str, Any]]:
    """The Kubernetes objects for a PipelineRun: its Pod, preceded (with rbac) by its ServiceAccount, Role and
    RoleBinding (`options` checked by the caller: translating.translate)."""
    namespace = options.namespace or parts.namespace
    template = _pod_template(parts, namespace)
    prepared = [_prepare(task, parts, template, namespace, options.debug_on_failure) for task in parts.tasks]
    _unique(parts.tasks, prepared)
    known = tasks_of([t.plan for t in parts.tasks], [p.results for p in prepared])
    plans: list[TaskPlan] = []
    for i, (task, p) in enumerate(zip(parts.tasks, prepared)):
        task_plan, steps = with_refs(dataclasses.replace(task.plan, results=task.plan.results or p.results),
                                     p.steps, p.sidecars, known)
        plans.append(task_plan)
        prepared[i] = dataclasses.replace(p, steps=steps)
    images = lookups([c for p in prepared for c in (*p.steps, *p.sidecars)], options)  # one batch, last
    count = 2 + sum(len(p.steps) + len(p.sidecars) for p in prepared)  # + doll-init and doll-supervisor
    wrapped: list[TaskParts] = []
    for i, p in enumerate(prepared):
        wrapped.append(wrap_task(p, Placement(sum(len(w.steps) for w in wrapped), sum(len(w.sidecars) for w in wrapped),
                                              task_results_volume(i), True, count), images))
    pod_name = naming.pod(parts.name)
    plan = Plan(steps=tuple(s for w in wrapped for s in w.step_plans),
                sidecars=tuple(s for w in wrapped for s in w.sidecar_plans),
                pod=PodIdentity(name=pod_name, namespace=namespace, task_run=parts.name), layout=options.layout,
                timeout_seconds=parts.timeout_seconds if parts.timeout_given else options.default_timeout_seconds,
                breakpoint_on_failure=any(p.shared.breakpoint_on_failure for p in prepared),
                metrics_port=options.metrics_port, run_dir=DOLL_RUN, steps_dir=STEPS_DIR, channels_dir=CHANNELS_DIR,
                linger_seconds=options.linger_seconds, pushgateway=options.pushgateway, tasks=tuple(plans),
                pipeline=parts.pipeline)
    check_plan(plan, parts.where)
    source = PodSource(pod_name, namespace, _labels(parts), dict(parts.annotations), template,
                       f"{parts.where}.podTemplate", parts.service_account,
                       tuple(v for p in prepared for v in p.volumes), tuple(task_results_volume(i) for i in
                                                                            range(len(prepared))))
    pod = render(source, Layout(options.layout, options.image, options.metrics_port), plan,
                 [s for w in wrapped for s in w.steps], [s for w in wrapped for s in w.sidecars],
                 _workspace_volumes(parts.tasks, prepared))
    return finish(pod, namespace, parts.service_account, options,
                  lambda: _fit_resources(pod, plans, wrapped, options.limit_range))


def _fit_resources(pod: RawObject, plans: Sequence[TaskPlan], wrapped: Sequence[TaskParts], limit_range: str) -> None:
    """The steps' requests: what the DAG can use at once, not the sum (resources.fit_tasks: the heaviest set of
    tasks that can run together keeps its largest step's requests, every other step asks 0)."""
    fit_tasks(pod, [(plan.name, [w.container["name"] for w in task.steps], plan.run_after, plan.is_finally)
                    for plan, task in zip(plans, wrapped)], limit_range)


def _pod_template(parts: PipelineParts, namespace: str) -> RawObject:
    """The PipelineRun's podTemplate, checked once for the Pod (no task's params are substituted in it)."""
    run = Run(task={}, task_where=parts.where, task_name="", run_where=parts.where, name=parts.name,
              namespace=namespace, uid=parts.uid, pod_template=parts.pod_template)
    return check_pod_template(run, {}).pod_template


def _prepare(task: PipelineTask, parts: PipelineParts, template: RawObject, namespace: str,
             debug_on_failure: bool) -> PreparedTask:
    """The task's parts, on the Pod's podTemplate and the pipeline workspaces' volumes."""
    run = task.run
    if run.pod_template and run.pod_template != parts.pod_template:
        raise GenerateError(f"{task.where}: podTemplate: one Pod has one podTemplate, the PipelineRun's (a task's "
                            "own is not supported by doll)")
    if run.service_account and run.service_account != parts.service_account:
        raise GenerateError(f"{task.where}: serviceAccountName: {quote(run.service_account)}: one Pod has one "
                            "ServiceAccount, the PipelineRun's (a task's own is not supported by doll)")
    volumes = {binding: naming.workspace_volume(f"{task.plan.name}-{binding}") for binding in
               (b.get("name") for b, _ in run.workspaces if isinstance(b, dict)) if isinstance(binding, str)}
    volumes |= {mine: naming.workspace_volume(pipeline) for mine, pipeline in task.workspace_sources}
    run = dataclasses.replace(run, namespace=namespace or run.namespace)
    if debug_on_failure:
        run = dataclasses.replace(run, debug={"breakpoints": {"onFailure": "enabled"}})
    return prepare_task(run, InPipeline(task.plan.name, template, volumes, naming.pod(parts.name)))


def _unique(tasks: Sequence[PipelineTask], prepared: Sequence[PreparedTask]) -> None:
    """No two steps, sidecars or volumes of different tasks with one name in the Pod (`a` + `b-c`, `a-b` + `c`)."""
    seen: dict[tuple[str, str], tuple[str, str, str]] = {}
    for task, p in zip(tasks, prepared):
        name = task.plan.name
        named = [("step", s.name, naming.qualified(name, s.name), s.where) for s in p.steps]
        named += [("sidecar", s.name, naming.qualified(name, s.name), s.where) for s in p.sidecars]
        named += [("volume", str(own.get("name")), str(v.get("name")), where)
                  for own, (v, where) in zip(p.run.task.get("volumes") or [], p.volumes)]
        for kind, own, pod_name, where in named:
            if (kind, pod_name) in seen:
                other_task, other, other_where = seen[kind, pod_name]
                raise GenerateError(f"{where}.name: {kind} {quote(own)} of task {quote(name)} is {quote(pod_name)} in "
                                    f"the Pod, as is {kind} {quote(other)} of task {quote(other_task)} ({other_where}): "
                                    "rename one")
            seen[kind, pod_name] = (name, own, where)


def _labels(parts: PipelineParts) -> dict[str, str]:
    """The PipelineRun's labels and Tekton's on its TaskRuns' Pods (pkg/reconciler/pipelinerun getTaskrunLabels:
    tekton.dev/pipeline, the Pipeline's name, or the PipelineRun's for an embedded pipelineSpec, unless the run
    sets it; tekton.dev/pipelineRun; tekton.dev/pipelineRunUID).  tekton.dev/pipelineTask and memberOf name one
    task: a Pod of many has none."""
    labels = {**parts.labels, "app.kubernetes.io/managed-by": "doll"}
    labels.setdefault("tekton.dev/pipeline", naming.fit(parts.pipeline.name or parts.name))
    labels["tekton.dev/pipelineRun"] = naming.fit(parts.name)
    if parts.uid:
        labels["tekton.dev/pipelineRunUID"] = naming.fit(parts.uid)
    return labels


def _workspace_volumes(tasks: Sequence[PipelineTask], prepared: Sequence[PreparedTask]) -> list[RawObject]:
    """Each workspace volume once: a pipeline workspace's is the same for every task that maps it."""
    volumes: dict[str, tuple[RawObject, str]] = {}
    for task, p in zip(tasks, prepared):
        for volume in p.workspace_volumes:
            first = volumes.setdefault(volume["name"], (volume, task.where))
            if first[0] != volume:
                raise GenerateError(f"{task.where}.workspaces: volume {quote(volume['name'])} is bound otherwise "
                                    f"than in {first[1]}")
    return [v for v, _ in volumes.values()]
