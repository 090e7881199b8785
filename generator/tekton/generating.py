"""`doll generate`: Tekton Task/TaskRun YAML in, a self-driving Pod (and optionally its RBAC) out.

The layout defaults to `native` (Kubernetes >= 1.29 native sidecars): the supervisor starts, and is
known to listen, before any step, and the Pod completes when the steps do.  `classic` (plain
containers) is what podman runs, and what older clusters need.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import concurrent.futures
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.layout import CHANNELS_DIR, DOLL_RUN, RESULTS_DIR, STEPS_DIR
from generator.errors import GenerateError, quote
from generator.images.choosing import source_for
from generator.images.sources import ImageConfigSource, Platforms, RegistryOptions
from generator.tekton import crediting, naming, step_actions
from generator.tekton.binding import bind, isolate
from generator.tekton.granting import grant, token_for_the_supervisor_only
from generator.tekton.loading import DNS_LABEL, RESULT_NAME, RESULT_RULE, declared_name, load
from generator.tekton.preparing import Prepared, prepare_sidecars, prepare_steps
from generator.tekton.pod_security import LEVELS, secure
from generator.tekton.probes import probe_spec
from generator.tekton.resources import fit, limit_range
from generator.tekton.rendering import Layout, check_pod_template, render, volume_names
from generator.tekton.resolving import resolve
from generator.tekton.specs import RawObject, Run
from generator.tekton.step_results import declared_results, task_result_files
from generator.tekton.substituting import Key, param_variables, walk
from generator.tekton.versions import parse, warn_known_bugs
from generator.tekton.wrapping import Shared, needs_lookup, wrap_sidecar, wrap_step
from generator.warning import warn
from contracts.plans import RESULT_TYPES, Plan, PlanError, PodIdentity, ProbeSpec, ResultSpec, SidecarPlan, validate

__all__ = ["GenerateError", "GenerateOptions", "check_registry", "generate"]


@dataclass(frozen=True)
class GenerateOptions:
    layout: Literal["native", "classic"] = "native"
    image: str = "ghcr.io/doll-ci/doll:0.1.0"  # the doll image (init + supervisor)
    rbac: bool = False
    name: str = ""  # the TaskRun's name (default: the TaskRun's, or <task>-run-<random> for a bare Task)
    namespace: str = ""  # overrides the TaskRun's metadata.namespace
    metrics_port: int = 9090
    linger_seconds: float = 60.0  # after the run the supervisor serves final metrics until a scrape, at most this
    pushgateway: str = ""  # the supervisor also pushes the final metrics here (batch use)
    image_map: str = ""  # offline file: image -> {entrypoint, cmd}; consulted before the registry
    # how to ask registries for the entrypoint of steps with neither command nor script; None: never ask
    registry: RegistryOptions | None = field(default_factory=RegistryOptions)
    default_timeout_seconds: float | None = 3600.0  # a run that gives no timeout gets Tekton's default, 60 min
    image_source: ImageConfigSource | None = None  # replaces map + registry (e.g. `podman image inspect`)
    pod_security: str = ""  # "" (as written) | privileged | baseline | restricted (pod_security.py)
    limit_range: str = ""  # a file with the namespace's LimitRange(s) (resources.py)
    kubernetes_version: str = ""  # X.Y[.Z]: warn of known kubelet bugs (versions.py; the CLI picks the layout)
    credentials: tuple[crediting.CredentialSecret, ...] = ()  # Secrets for $(credentials.path) (crediting.py)


def _source(options: GenerateOptions) -> ImageConfigSource:
    if options.image_source is not None:
        return options.image_source
    return source_for(options.image_map, options.registry)


async def _lookup_all(source: ImageConfigSource, wanted: dict[str, str]) -> dict[str, Platforms]:
    async def one(image: str, where: str) -> tuple[str, Platforms]:
        try:
            return image, await source.lookup(image)
        except GenerateError as exc:
            raise GenerateError(f"{where}: {exc}") from None
    try:
        results = await asyncio.gather(*(one(image, where) for image, where in wanted.items()))
    finally:  # also when a lookup failed: an unclosed registry session is two lines of noise after the error
        close = getattr(source, "close", None)
        if close is not None:
            await close()
    return dict(results)


def _lookups(prepared: list[Prepared], options: GenerateOptions) -> dict[str, Platforms]:
    wanted: dict[str, str] = {}
    for p in prepared:
        if needs_lookup(p):
            wanted.setdefault(p.spec["image"], p.where)
    if not wanted:
        return {}
    source = _source(options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_lookup_all(source, wanted))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from async code (doll run)
        return pool.submit(asyncio.run, _lookup_all(source, wanted)).result()


def _breakpoints(run: Run, steps: list[str]) -> tuple[bool, frozenset[str]]:
    debug, where = run.debug, f"{run.run_where}.debug"
    for key in debug:
        if key not in ("breakpoints", "breakpoint"):
            raise GenerateError(f"{where}.{key}: not supported by doll")
    if "breakpoint" in debug:  # v1beta1: a list of "onFailure"
        value = debug["breakpoint"]
        if not isinstance(value, list) or any(v != "onFailure" for v in value):
            raise GenerateError(f"{where}.breakpoint: {quote(value)} (only [onFailure] is supported)")
        return bool(value), frozenset()
    points = debug.get("breakpoints") or {}
    if not isinstance(points, dict):
        raise GenerateError(f"{where}.breakpoints: expected an object")
    for key in points:
        if key not in ("onFailure", "beforeSteps"):
            raise GenerateError(f"{where}.breakpoints.{key}: not supported by doll")
    on_failure = points.get("onFailure", "")
    if on_failure not in ("", "enabled"):
        raise GenerateError(f"{where}.breakpoints.onFailure: {quote(on_failure)} (only \"enabled\")")
    before = points.get("beforeSteps") or []
    if not isinstance(before, list):
        raise GenerateError(f"{where}.breakpoints.beforeSteps: expected a list of step names")
    for i, name in enumerate(before):
        if name not in steps:
            raise GenerateError(f"{where}.breakpoints.beforeSteps[{i}]: no step named {quote(name)}")
    return on_failure == "enabled", frozenset(before)


def _results(task: RawObject, where: str) -> tuple[str, ...]:
    raw = task.get("results") or []
    if not isinstance(raw, list):
        raise GenerateError(f"{where}.results: expected a list")
    seen: set[str] = set()
    fields = ("name", "type", "description", "properties", "value")  # value: a step result (step_results)
    return tuple(declared_name(result, f"{where}.results[{i}]", RESULT_NAME, RESULT_RULE, seen, fields)
                 for i, result in enumerate(raw))


def _result_specs(task: RawObject, where: str) -> tuple[ResultSpec, ...]:
    """The declared types of the task's results (names already checked by `_results`), for the supervisor's
    check at the end of the run (contracts/task_results.py)."""
    specs = []
    for i, result in enumerate(task.get("results") or []):
        kind, properties = result.get("type", "string"), result.get("properties") or {}
        if kind not in RESULT_TYPES:
            raise GenerateError(f"{where}.results[{i}].type: {quote(str(kind))} is not one of {', '.join(RESULT_TYPES)}")
        if not isinstance(properties, dict):
            raise GenerateError(f"{where}.results[{i}].properties: expected a map of keys to their types")
        specs.append(ResultSpec(name=result["name"], type=kind, properties=tuple(str(k) for k in properties)))
    return tuple(specs)


def _check_task(task: RawObject, where: str) -> None:
    for key in task:
        if key not in ("params", "workspaces", "results", "steps", "stepTemplate", "sidecars", "volumes",
                       "description", "displayName"):
            hint = " (PipelineResources were removed from Tekton)" if key == "resources" else ""
            raise GenerateError(f"{where}.{key}: not supported by doll{hint}")


def _variables(run: Run, params: dict[Key, Any], workspaces: dict[Key, Any],
               results: tuple[str, ...]) -> dict[Key, Any]:
    variables: dict[Key, Any] = {**params, **workspaces}
    for name in results:
        variables[("results", name, "path")] = f"{RESULTS_DIR}/{name}"
    if not run.namespace and "context.taskRun.namespace" in json.dumps(run.task):
        warn(f"{run.task_where}: $(context.taskRun.namespace) becomes 'default' (no namespace given: set "
             "metadata.namespace or --namespace)")
    variables.update({("context", "taskRun", "name"): run.name, ("context", "taskRun", "namespace"):
                      run.namespace or "default", ("context", "taskRun", "uid"): run.uid,
                      ("context", "task", "name"): run.task_name or run.name,
                      ("context", "task", "retry-count"): "0", ("credentials", "path"): crediting.CREDS_DIR})
    return variables


def _running(steps: list[Prepared], where: str) -> list[Prepared]:
    """The steps whose `when` holds; each other one is left out of the Pod, with a warning."""
    for step in steps:
        if step.false_when:
            warn(f"{step.where}: step {step.name!r} is skipped: its when {step.false_when} is false (doll decides "
                 "a step's when as it generates the Pod, and leaves the step out)")
    running = [s for s in steps if not s.false_when]
    if not running:
        raise GenerateError(f"{where}.steps: every step's when is false: nothing to run")
    return running


def _probes(sidecars: list[Prepared]) -> list[ProbeSpec | None]:
    return [None if s.spec.get("readinessProbe") is None else
            probe_spec(s.spec["readinessProbe"], s.spec.get("ports") or [], f"{s.where}.readinessProbe")
            for s in sidecars]


def _check_options(options: GenerateOptions) -> None:
    """What the command line gives, checked before the input and blamed on its option, not on a file."""
    if options.layout not in ("native", "classic"):
        raise GenerateError(f"layout: {quote(options.layout)} is not native or classic")
    if options.namespace and not DNS_LABEL.match(options.namespace):
        raise GenerateError(f"--namespace: {quote(options.namespace)} is not a DNS-1123 label")
    if not 0 < options.metrics_port < 65536:
        raise GenerateError(f"--metrics-port: {options.metrics_port} is not 1-65535")
    if not math.isfinite(options.linger_seconds) or options.linger_seconds < 0:
        raise GenerateError(f"--linger-seconds: {options.linger_seconds} is not a finite number of seconds >= 0")
    if options.pushgateway and not options.pushgateway.startswith(("http://", "https://")):
        raise GenerateError(f"--pushgateway: {quote(options.pushgateway)} is not an http:// or https:// URL")
    if options.pod_security not in ("", *LEVELS):
        raise GenerateError(f"--pod-security: {quote(options.pod_security)} is not one of {', '.join(LEVELS)}")
    if options.kubernetes_version:
        parse(options.kubernetes_version)
    if options.limit_range:
        limit_range(options.limit_range)  # read again at the end: a bad file is told before any lookup
    if options.registry is not None:
        check_registry(options.registry)


def check_registry(registry: RegistryOptions) -> None:
    """The registry options alone (checked also when the lookup is off: a bad --cache-ttl is still bad)."""
    ttl = registry.cache_ttl_seconds
    if not math.isfinite(ttl) or ttl < 0:
        raise GenerateError(f"--cache-ttl: {ttl} is not a finite number of seconds >= 0")


def generate(sources: Sequence[tuple[str, str]], params: Mapping[str, str],
             options: GenerateOptions) -> list[dict[str, Any]]:
    """Kubernetes objects for one run: the Pod, preceded (with rbac) by its ServiceAccount, Role, RoleBinding.

    The Pod comes last: `kubectl apply` creates objects in order, and the ServiceAccount admission plugin
    refuses a Pod whose serviceAccountName does not exist yet."""
    _check_options(options)
    run = _loaded(sources, params, options)
    results = _results(run.task, run.task_where)
    param_values = param_variables(resolve(run))
    run = check_pod_template(run, param_values)
    run = step_actions.resolve(run, param_values)
    bound = bind(run, param_values)
    variables = _variables(run, param_values, bound.variables, results)
    run = dataclasses.replace(run, task={**run.task, "volumes": walk(
        run.task.get("volumes") or [], variables, f"{run.task_where}.volumes")})
    volumes = volume_names(run.task, run.task_where, run.pod_template, f"{run.run_where}.podTemplate")
    volumes |= {v["name"] for v in bound.volumes}  # $(workspaces.x.volume) in a volumeMount (variables.md)
    steps = _running(prepare_steps(run.task, run.task_where, variables, volumes),
                     run.task_where)
    sidecars = prepare_sidecars(run.task, run.task_where, variables, volumes)
    shared_mounts, steps, sidecars = isolate(bound, steps, sidecars)
    probes = _probes(sidecars)
    on_failure, before = _breakpoints(run, [s.name for s in steps])
    images = _lookups([*steps, *sidecars], options)  # last: the only step that may touch the network

    declared = {s.name: declared_results(s.spec.get("results")) for s in steps}
    shared = Shared(shared_mounts, list(run.pod_template.get("env") or []), results, on_failure, before,
                    task_result_files(run.task, run.task_where, declared), await_supervisor=options.layout == "native",
                    container_count=2 + len(steps) + len(sidecars))  # + doll-init and doll-supervisor
    wrapped_steps, step_plans = [], []
    for i, step in enumerate(steps):
        wrapped, step_plan = wrap_step(step, i, steps[i - 1].name if i else None, shared, images)
        wrapped_steps.append(wrapped)
        step_plans.append(step_plan)
    wrapped_sidecars = [wrap_sidecar(s, i, shared, images) for i, s in enumerate(sidecars)]
    pod_name = naming.pod(run.name)
    plan = Plan(steps=tuple(step_plans),
                sidecars=tuple(SidecarPlan(name=s.name, container=w.container["name"], probe=probe)
                               for s, w, probe in zip(sidecars, wrapped_sidecars, probes)),
                pod=PodIdentity(name=pod_name, namespace=run.namespace, task_run=run.name, task=run.task_name),
                layout=options.layout, timeout_seconds=run.timeout_seconds, breakpoint_on_failure=on_failure,
                metrics_port=options.metrics_port, run_dir=DOLL_RUN, steps_dir=STEPS_DIR, channels_dir=CHANNELS_DIR,
                linger_seconds=options.linger_seconds, pushgateway=options.pushgateway,
                results=_result_specs(run.task, run.task_where))
    try:
        validate(plan)
    except PlanError as exc:
        raise GenerateError(f"{run.task_where}: plan: {exc}") from None
    pod = render(run, Layout(options.layout, options.image, options.metrics_port), plan, wrapped_steps, wrapped_sidecars, bound.volumes, pod_name)
    crediting.place(pod, options.credentials)
    fit(pod, [w.container["name"] for w in wrapped_steps], options.limit_range)
    objects = _with_rbac(pod, run, pod_name) if options.rbac else [pod]
    secure(pod, options.pod_security)
    warn_known_bugs(options.kubernetes_version, pod)
    return objects


def _loaded(sources: Sequence[tuple[str, str]], params: Mapping[str, str], options: GenerateOptions) -> Run:
    """The run as the files and the options give it, its task checked."""
    run = load(sources, params, options.name)
    if options.namespace:
        run = dataclasses.replace(run, namespace=options.namespace)
    if not run.timeout_given:
        run = dataclasses.replace(run, timeout_seconds=options.default_timeout_seconds)
    _check_task(run.task, run.task_where)
    return run


def _with_rbac(pod: dict[str, Any], run: Run, pod_name: str) -> list[dict[str, Any]]:
    """The ServiceAccount (unless the run names one), Role and RoleBinding, then the Pod (--rbac)."""
    objects = grant(pod_name, run.namespace, run.service_account, {"app.kubernetes.io/managed-by": "doll"})
    if not run.service_account:
        pod["spec"]["serviceAccountName"] = objects[0]["metadata"]["name"]
        token_for_the_supervisor_only(pod)
    return [*objects, pod]
