"""`doll generate`: Tekton Task/TaskRun YAML in, a self-driving Pod (and optionally its RBAC) out.

The layout defaults to `native` (Kubernetes >= 1.29 native sidecars): the supervisor starts, and is
known to listen, before any step, and the Pod completes when the steps do.  `classic` (plain
containers) is what podman runs, and what older clusters need.

A Task's path: its parts (task_parts: prepared, images looked up, wrapped), its plan, the Pod rendered
(rendering), then `finish`ed: credentials, resources, RBAC, pod security.  A PipelineRun's Pod is assembled from
several Tasks' parts (pipelines/assembling.py) and finished the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from contracts.layout import CHANNELS_DIR, DOLL_RUN, STEPS_DIR
from contracts.plans import Plan, PlanError, PodIdentity, validate
from generator.errors import GenerateError
from generator.tekton import crediting, naming
from generator.tekton.generate_options import GenerateOptions, check_options, check_registry
from generator.tekton.granting import grant, token_for_the_supervisor_only
from generator.tekton.loading import load
from generator.tekton.looking_up import lookups
from generator.tekton.pod_security import secure
from generator.tekton.rendering import Layout, PodSource, render
from generator.tekton.resources import fit
from generator.tekton.specs import Run
from generator.tekton.task_parts import Placement, prepare_task, wrap_task
from generator.tekton.versions import warn_known_bugs

__all__ = ["GenerateError", "GenerateOptions", "check_plan", "check_registry", "finish", "generate", "generate_run"]


def generate(sources: Sequence[tuple[str, str]], params: Mapping[str, str],
             options: GenerateOptions) -> list[dict[str, Any]]:
    """Kubernetes objects for one run: the Pod, preceded (with rbac) by its ServiceAccount, Role, RoleBinding.

    The Pod comes last: `kubectl apply` creates objects in order, and the ServiceAccount admission plugin
    refuses a Pod whose serviceAccountName does not exist yet."""
    check_options(options)
    return generate_run(load(sources, params, options.name), options)


def generate_run(run: Run, options: GenerateOptions) -> list[dict[str, Any]]:
    """`generate` for a run already loaded, its options already checked (translating.translate)."""
    prepared = prepare_task(_with_options(run, options))
    run = prepared.run
    images = lookups([*prepared.steps, *prepared.sidecars], options)  # last: the only step that may touch the network
    parts = wrap_task(prepared, Placement(await_supervisor=options.layout == "native",
                                          container_count=2 + len(prepared.steps) + len(prepared.sidecars)), images)
    pod_name = naming.pod(run.name)
    plan = Plan(steps=parts.step_plans, sidecars=parts.sidecar_plans,
                pod=PodIdentity(name=pod_name, namespace=run.namespace, task_run=run.name, task=run.task_name),
                layout=options.layout, timeout_seconds=run.timeout_seconds,
                breakpoint_on_failure=prepared.shared.breakpoint_on_failure, metrics_port=options.metrics_port,
                run_dir=DOLL_RUN, steps_dir=STEPS_DIR, channels_dir=CHANNELS_DIR,
                linger_seconds=options.linger_seconds, pushgateway=options.pushgateway, results=prepared.results)
    check_plan(plan, run.task_where)
    labels = {**run.labels, "app.kubernetes.io/managed-by": "doll", "tekton.dev/taskRun": naming.fit(run.name)}
    if run.task_name:
        labels["tekton.dev/task"] = naming.fit(run.task_name)
    source = PodSource(pod_name, run.namespace, labels, run.annotations, run.pod_template,
                       f"{run.run_where}.podTemplate", run.service_account, prepared.volumes)
    pod = render(source, Layout(options.layout, options.image, options.metrics_port), plan, list(parts.steps),
                 list(parts.sidecars), list(prepared.workspace_volumes))
    steps = [w.container["name"] for w in parts.steps]
    return finish(pod, run.namespace, run.service_account, options, lambda: fit(pod, steps, options.limit_range))


def check_plan(plan: Plan, where: str) -> None:
    try:
        validate(plan)
    except PlanError as exc:
        raise GenerateError(f"{where}: plan: {exc}") from None


def finish(pod: dict[str, Any], namespace: str, service_account: str, options: GenerateOptions,
           fit_resources: Callable[[], None]) -> list[dict[str, Any]]:
    """The rendered Pod with its credentials, resources (`fit_resources`), RBAC objects (before it) and pod
    security: the objects to apply, the Pod last."""
    crediting.place(pod, options.credentials)
    fit_resources()
    objects = _with_rbac(pod, namespace, service_account) if options.rbac else [pod]
    secure(pod, options.pod_security)
    warn_known_bugs(options.kubernetes_version, pod)
    return objects


def _with_options(run: Run, options: GenerateOptions) -> Run:
    """The run as the files and the options give it."""
    if options.namespace:
        run = dataclasses.replace(run, namespace=options.namespace)
    if not run.timeout_given:
        run = dataclasses.replace(run, timeout_seconds=options.default_timeout_seconds)
    return run


def _with_rbac(pod: dict[str, Any], namespace: str, service_account: str) -> list[dict[str, Any]]:
    """The ServiceAccount (unless the run names one), Role and RoleBinding, then the Pod (--rbac)."""
    objects = grant(pod["metadata"]["name"], namespace, service_account, {"app.kubernetes.io/managed-by": "doll"})
    if not service_account:
        pod["spec"]["serviceAccountName"] = objects[0]["metadata"]["name"]
        token_for_the_supervisor_only(pod)
    return [*objects, pod]
