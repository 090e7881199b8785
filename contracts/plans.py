"""The plan the generator hands the supervisor: defined here, once, and read by both sides.

The generator writes it as JSON (`Plan.to_json`) into the Pod (init container -> /doll/run/plan.json,
or the DOLL_PLAN environment variable); the supervisor reads it with `Plan.from_json`, which validates
it and raises `PlanError("steps[2].name: missing")` on the first problem.  Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from contracts.layout import DOLL_RUN, STEPS_DIR
from contracts.plan_reading import DNS_LABEL, NUM, OPT_NUM, RESULT_TYPES, PlanError, ResultSpec, get, obj, read_results
from contracts.task_plans import PipelinePlan, TaskPlan, read_pipeline, read_tasks, validate_tasks

__all__ = ["PLAN_VERSION", "ProbeKind", "OnError", "Layout", "PlanError", "ProbeSpec", "SidecarPlan",
           "StepPlan", "PodIdentity", "ResultSpec", "RESULT_TYPES", "Plan", "PipelinePlan", "TaskPlan", "validate"]

PLAN_VERSION = 1

ProbeKind = Literal["httpGet", "tcpSocket", "grpc", "exec"]
OnError = Literal["continue", "stopAndFail"]
Layout = Literal["native", "classic"]


@dataclass(frozen=True)
class ProbeSpec:
    """A Kubernetes readinessProbe, reduced to what the supervisor runs from inside the Pod."""

    kind: ProbeKind
    port: int | None = None  # httpGet, tcpSocket, grpc
    host: str = ""  # "": the Pod IP, as the kubelet probes (supervisor/probes.py); a probe's own host otherwise
    path: str = "/"  # httpGet
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    headers: tuple[tuple[str, str], ...] = ()
    service: str = ""  # grpc health service name
    command: tuple[str, ...] = ()  # exec: run by the sidecar's own wrapper, inside its container
    initial_delay_seconds: float = 0.0
    period_seconds: float = 0.05  # doll polls fast by default (Kubernetes' default is 10 s)
    timeout_seconds: float = 1.0
    failure_threshold: int = 3  # consecutive failures after the sidecar was ready -> not ready
    success_threshold: int = 1


@dataclass(frozen=True)
class SidecarPlan:
    name: str
    container: str  # the container's name in the Pod
    probe: ProbeSpec | None = None  # None: ready as soon as its wrapper says hello
    ready_timeout_seconds: float = 600.0  # never ready by then -> the task fails
    stop_grace_seconds: float = 10.0


@dataclass(frozen=True)
class StepPlan:
    name: str
    index: int
    container: str
    timeout_seconds: float | None = None
    on_error: OnError = "stopAndFail"
    results: tuple[str, ...] = ()
    breakpoint_before: bool = False
    task: str = ""  # a pipeline's: the TaskPlan it belongs to ("" in a TaskRun's plan)


@dataclass(frozen=True)
class PodIdentity:
    name: str = ""  # Pod name; empty when unknown (then read from the environment: POD_NAME / HOSTNAME)
    namespace: str = ""
    task_run: str = ""
    task: str = ""


@dataclass(frozen=True)
class Plan:
    steps: tuple[StepPlan, ...]
    sidecars: tuple[SidecarPlan, ...] = ()
    pod: PodIdentity = field(default_factory=PodIdentity)
    layout: Layout = "classic"
    timeout_seconds: float | None = None  # the whole task
    breakpoint_on_failure: bool = False
    hold_timeout_seconds: float = 3600.0
    run_dir: str = DOLL_RUN
    metrics_port: int = 9090
    linger_seconds: float = 60.0  # after the end, serve metrics until one scrape or this long
    pushgateway: str = ""  # optional Pushgateway URL
    publish_to_api: bool = True  # annotations and Events through the Kubernetes API, best effort
    steps_dir: str = STEPS_DIR  # step-<name>/out[.err]: post files the supervisor reconciles from
    # <kind>-<name>/ per step and sidecar: that container's own socket and verdict ("": none, every wrapper uses
    # <run_dir>/control.sock, as on one host where all are trusted: tests, benchmarks)
    channels_dir: str = ""
    results: tuple[ResultSpec, ...] = ()  # the task's declared results, with their types
    tasks: tuple[TaskPlan, ...] = ()  # a PipelineRun's tasks (contracts/task_plans.py); () for a TaskRun
    pipeline: PipelinePlan | None = None  # a PipelineRun's own part: its name, timeouts, results
    version: int = PLAN_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise PlanError(f"plan: not JSON: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any) -> Plan:
        plan = _build(data)
        validate(plan)
        return plan


# --- reading -------------------------------------------------------------------------------------


def _probe(data: Any, where: str) -> ProbeSpec:
    d = obj(data, where.rstrip("."))
    kind = get(d, "kind", where, (str,))
    if kind not in ("httpGet", "tcpSocket", "grpc", "exec"):
        raise PlanError(f"{where}kind: unknown {kind!r}")
    headers = get(d, "headers", where, (list,), ProbeSpec)
    return ProbeSpec(
        kind=kind,
        port=get(d, "port", where, (int, type(None)), ProbeSpec),
        host=get(d, "host", where, (str,), ProbeSpec),
        path=get(d, "path", where, (str,), ProbeSpec),
        scheme=get(d, "scheme", where, (str,), ProbeSpec),
        headers=tuple((str(h[0]), str(h[1])) for h in headers),
        service=get(d, "service", where, (str,), ProbeSpec),
        command=tuple(str(c) for c in get(d, "command", where, (list,), ProbeSpec)),
        initial_delay_seconds=float(get(d, "initial_delay_seconds", where, NUM, ProbeSpec)),
        period_seconds=float(get(d, "period_seconds", where, NUM, ProbeSpec)),
        timeout_seconds=float(get(d, "timeout_seconds", where, NUM, ProbeSpec)),
        failure_threshold=get(d, "failure_threshold", where, (int,), ProbeSpec),
        success_threshold=get(d, "success_threshold", where, (int,), ProbeSpec),
    )


def _build(data: Any) -> Plan:
    d = obj(data, "plan")
    version = get(d, "version", "", (int,), Plan)
    if version != PLAN_VERSION:
        raise PlanError(f"version: unsupported {version!r} (this supervisor reads {PLAN_VERSION})")
    steps = []
    for i, raw in enumerate(get(d, "steps", "", (list,))):
        w = f"steps[{i}]."
        s = obj(raw, w[:-1])
        steps.append(StepPlan(
            name=get(s, "name", w, (str,)),
            index=get(s, "index", w, (int,)),
            container=get(s, "container", w, (str,)),
            timeout_seconds=get(s, "timeout_seconds", w, OPT_NUM, StepPlan),
            on_error=get(s, "on_error", w, (str,), StepPlan),
            results=tuple(get(s, "results", w, (list,), StepPlan)),
            breakpoint_before=get(s, "breakpoint_before", w, (bool,), StepPlan),
            task=get(s, "task", w, (str,), StepPlan),
        ))
    sidecars = []
    for i, raw in enumerate(get(d, "sidecars", "", (list,), Plan)):
        w = f"sidecars[{i}]."
        s = obj(raw, w[:-1])
        probe = get(s, "probe", w, (dict, type(None)), SidecarPlan)
        sidecars.append(SidecarPlan(
            name=get(s, "name", w, (str,)),
            container=get(s, "container", w, (str,)),
            probe=None if probe is None else _probe(probe, w + "probe."),
            ready_timeout_seconds=float(get(s, "ready_timeout_seconds", w, NUM, SidecarPlan)),
            stop_grace_seconds=float(get(s, "stop_grace_seconds", w, NUM, SidecarPlan)),
        ))
    pod = obj(get(d, "pod", "", (dict,)), "pod") if "pod" in d else {}
    return Plan(
        steps=tuple(steps),
        sidecars=tuple(sidecars),
        pod=PodIdentity(**{k: get(pod, k, "pod.", (str,), PodIdentity)
                           for k in ("name", "namespace", "task_run", "task")}),
        layout=get(d, "layout", "", (str,), Plan),
        timeout_seconds=get(d, "timeout_seconds", "", OPT_NUM, Plan),
        breakpoint_on_failure=get(d, "breakpoint_on_failure", "", (bool,), Plan),
        hold_timeout_seconds=float(get(d, "hold_timeout_seconds", "", NUM, Plan)),
        run_dir=get(d, "run_dir", "", (str,), Plan),
        metrics_port=get(d, "metrics_port", "", (int,), Plan),
        linger_seconds=float(get(d, "linger_seconds", "", NUM, Plan)),
        pushgateway=get(d, "pushgateway", "", (str,), Plan),
        publish_to_api=get(d, "publish_to_api", "", (bool,), Plan),
        steps_dir=get(d, "steps_dir", "", (str,), Plan),
        channels_dir=get(d, "channels_dir", "", (str,), Plan),
        results=read_results(get(d, "results", "", (list,), Plan)),
        tasks=read_tasks(get(d, "tasks", "", (list,), Plan)),
        pipeline=read_pipeline(d.get("pipeline")),
        version=version,
    )


def validate(plan: Plan) -> None:
    """Consistency checks across fields; raise PlanError naming the first bad one."""
    if not plan.steps:
        raise PlanError("steps: empty (a task needs at least one step)")
    if plan.layout not in ("native", "classic"):
        raise PlanError(f"layout: unknown {plan.layout!r}")
    seen: set[str] = set()
    for i, step in enumerate(plan.steps):
        if step.index != i:
            raise PlanError(f"steps[{i}].index: {step.index} (steps must be numbered 0, 1, 2, ... in order)")
        if not DNS_LABEL.match(step.name):
            raise PlanError(f"steps[{i}].name: {step.name!r} is not a DNS-1123 label")
        if step.name in seen:
            raise PlanError(f"steps[{i}].name: duplicate {step.name!r}")
        seen.add(step.name)
        if step.on_error not in ("continue", "stopAndFail"):
            raise PlanError(f"steps[{i}].on_error: unknown {step.on_error!r}")
        if step.timeout_seconds is not None and step.timeout_seconds <= 0:
            raise PlanError(f"steps[{i}].timeout_seconds: {step.timeout_seconds} (must be > 0)")
    names: set[str] = set()
    for i, sidecar in enumerate(plan.sidecars):
        if not DNS_LABEL.match(sidecar.name):
            raise PlanError(f"sidecars[{i}].name: {sidecar.name!r} is not a DNS-1123 label")
        if sidecar.name in names:
            raise PlanError(f"sidecars[{i}].name: duplicate {sidecar.name!r}")
        names.add(sidecar.name)
        probe = sidecar.probe
        if probe is not None:
            if probe.kind == "exec" and not probe.command:
                raise PlanError(f"sidecars[{i}].probe.command: missing for an exec probe")
            if probe.kind != "exec" and not (probe.port and 0 < probe.port < 65536):
                raise PlanError(f"sidecars[{i}].probe.port: {probe.port!r} (must be 1-65535)")
            if probe.period_seconds <= 0:
                raise PlanError(f"sidecars[{i}].probe.period_seconds: {probe.period_seconds} (must be > 0)")
    for i, result in enumerate(plan.results):
        if result.type not in RESULT_TYPES:
            raise PlanError(f"results[{i}].type: unknown {result.type!r}")
    validate_tasks(plan.tasks, [s.task for s in plan.steps])
    if plan.timeout_seconds is not None and plan.timeout_seconds <= 0:
        raise PlanError(f"timeout_seconds: {plan.timeout_seconds} (must be > 0)")
    if plan.linger_seconds < 0:
        raise PlanError(f"linger_seconds: {plan.linger_seconds} (must be >= 0)")
    if plan.pushgateway and not plan.pushgateway.startswith(("http://", "https://")):
        raise PlanError(f"pushgateway: {plan.pushgateway!r} (must be an http:// or https:// URL)")
    if not 0 < plan.metrics_port < 65536:
        raise PlanError(f"metrics_port: {plan.metrics_port} (must be 1-65535)")
