"""Compute resources: doll's own containers' small requests and limits, sequential steps reserved once, a
pipeline's tasks reserved for what can run at once, and a namespace's LimitRange applied as Tekton applies it
(`--limit-range FILE`).

    doll-init, doll-supervisor  DOLL_RESOURCES (measured: init ~15 MB RSS plus the 14 MB wrapper it copies
                                through the page cache; the supervisor ~41 MB idle, plus ~14 MB while its
                                startupProbe's `doll ctl` runs in its container)
    steps (more than one)       they run one at a time, so for cpu, memory and ephemeral-storage the step
                                asking the most keeps its request and every other step's becomes 0 (the
                                LimitRange minimum with --limit-range): Tekton's rule before v0.28; limits
                                are kept.  A step with a limit and no request asks its limit (the API server
                                defaults a request to the limit: core/v1 SetDefaults_Pod).  Extended resources
                                and hugepages are left alone (their requests must equal their limits).
    a pipeline's tasks          a Pod asks the sum of its containers' requests, so it asks for what the DAG
                                can use at once, not the sum: a task's steps never run together (it demands
                                its largest step), tasks with no path between them do, finally tasks run
                                after every DAG task.  Per resource, the Pod asks the larger of the heaviest
                                set of DAG tasks that can run at once and the heaviest set of finally tasks
                                (concurrency.heaviest_antichain, a task weighing its largest step); in each
                                task of that set the largest step keeps its request, every other step asks 0
                                (the LimitRange minimum: then the Pod asks that much more).  A TaskRun is the
                                pipeline of one task: the rule above.  Sidecars run the whole time and keep
                                their requests.
    --limit-range FILE          the namespace's LimitRange(s), type Container, merged as Tekton does
                                (docs/compute-resources.md: largest min, smallest max and defaults): a step
                                with no request gets defaultRequest (before the rules above, so only the steps
                                that keep a request keep it); every request is raised to min; doll's own
                                containers are fitted into [min, max].  Sidecars are left to the LimitRanger
                                admission plugin.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import yaml

from generator.errors import GenerateError, quote
from generator.tekton.concurrency import heaviest_antichain
from generator.tekton.specs import RawObject

__all__ = ["DOLL_RESOURCES", "SHARED", "PodTask", "fit", "fit_tasks", "limit_range", "quantity"]

PodTask = tuple[str, Sequence[str], Sequence[str], bool]  # (task, its step containers in order, runs after, finally)

DOLL_RESOURCES: dict[str, RawObject] = {
    "doll-init": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}},
    "doll-supervisor": {"requests": {"cpu": "25m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
}
SHARED = ("cpu", "memory", "ephemeral-storage")
_SUFFIXES = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10) ** 3,
             "M": Decimal(10) ** 6, "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
             "E": Decimal(10) ** 18, **{s: Decimal(2) ** (10 * (i + 1)) for i, s in enumerate(
                 ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))}}
_QUANTITY = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))((?:[eE][+-]?\d+)|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)")


def quantity(value: Any, where: str) -> Decimal:
    """A Kubernetes quantity (apimachinery resource.Quantity) as a number."""
    match = _QUANTITY.fullmatch(str(value).strip())
    if not match:
        raise GenerateError(f"{where}: {quote(value)} is not a Kubernetes quantity")
    number, suffix = Decimal(match.group(1)), match.group(2)
    return number * (Decimal(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else _SUFFIXES[suffix])


def limit_range(path: str) -> RawObject:
    """The Container limits of the LimitRange(s) in the file, merged: {min, max, default, defaultRequest}."""
    try:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d]
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise GenerateError(f"--limit-range {path}: cannot read: {' '.join(str(exc).split())}") from None
    docs = [i for d in docs for i in (d.get("items") or [] if d.get("kind") == "List" else [d])]
    if not docs or any(not isinstance(d, dict) or d.get("kind") != "LimitRange" for d in docs):
        raise GenerateError(f"--limit-range {path}: expected LimitRange objects")
    items = [i for d in docs for i in (d.get("spec") or {}).get("limits") or [] if i.get("type") == "Container"]
    merged: RawObject = {"min": {}, "max": {}, "default": {}, "defaultRequest": {}}
    for i, item in enumerate(items):
        defaults = {**(item.get("max") or {}), **(item.get("default") or {})}  # SetDefaults_LimitRangeItem
        requests = {**defaults, **(item.get("defaultRequest") or {})}
        for key, values, pick in (("min", item.get("min"), max), ("max", item.get("max"), min),
                                  ("default", defaults, min), ("defaultRequest", requests, min)):
            for name, value in (values or {}).items():
                old = merged[key].get(name)
                here = f"--limit-range {path}: limits[{i}].{key}.{name}"
                merged[key][name] = value if old is None else pick(old, value, key=lambda q: quantity(q, here))
    for key in ("default", "defaultRequest"):  # a default below the minimum is the minimum (Tekton)
        for name, low in merged["min"].items():
            if name in merged[key] and quantity(merged[key][name], key) < quantity(low, "min"):
                merged[key][name] = low
    return merged


def _asked(container: RawObject, name: str) -> Any:
    resources = container.get("resources") or {}
    return (resources.get("requests") or {}).get(name, (resources.get("limits") or {}).get(name))


def _share(tasks: list[PodTask], containers: dict[str, RawObject], name: str, floor: dict[str, Any]) -> None:
    """One resource: the largest step of each task of the heaviest set that can run at once keeps its request,
    every other step that asks asks the floor (the LimitRange minimum, else 0)."""
    keepers: dict[str, tuple[Decimal, str]] = {}  # task -> (its demand: its largest step's request, that step)
    asking: list[RawObject] = []
    for task, step_names, _, _ in tasks:
        demands = [(quantity(_asked(containers[s], name), f"{s}.resources.{name}"), -i, s)
                   for i, s in enumerate(step_names) if _asked(containers[s], name) is not None]
        asking += [containers[s] for _, _, s in demands]
        if demands:
            demand, _, keeper = max(demands)
            keepers[task] = (demand, keeper)
    kept = {keepers[t][1] for t in _peak(tasks, {t: d for t, (d, _) in keepers.items()}) if t in keepers}
    for step in asking:
        if step["name"] not in kept:
            step.setdefault("resources", {}).setdefault("requests", {})[name] = floor.get(name, "0")


def _peak(tasks: list[PodTask], demands: dict[str, Decimal]) -> frozenset[str]:
    """The heaviest set of tasks that can run at once: DAG tasks together, or finally tasks together."""
    scale = math.lcm(*(Fraction(d).denominator for d in demands.values()))
    weights = {t: int(Fraction(demands.get(t, Decimal(0))) * scale) for t, _, _, _ in tasks}
    finally_tasks = {t for t, _, _, is_finally in tasks if is_finally}
    dag = heaviest_antichain({t: w for t, w in weights.items() if t not in finally_tasks},
                             {t: after for t, _, after, is_finally in tasks if not is_finally})
    last = heaviest_antichain({t: w for t, w in weights.items() if t in finally_tasks},
                              {t: [a for a in after if a in finally_tasks] for t, _, after, f in tasks if f})
    return dag.members if dag.weight >= last.weight else last.members


def _fit_own(container: RawObject, limits: RawObject) -> None:
    resources: RawObject = {k: dict(v) for k, v in DOLL_RESOURCES[container["name"]].items()}
    for name, low in limits["min"].items():
        for kind in ("requests", "limits"):
            if name in resources[kind] and quantity(resources[kind][name], name) < quantity(low, name):
                resources[kind][name] = low
    for name, high in limits["max"].items():
        for kind in ("requests", "limits"):
            if name in resources[kind] and quantity(resources[kind][name], name) > quantity(high, name):
                resources[kind][name] = high
    container["resources"] = resources


def fit(pod: RawObject, step_names: Iterable[str], path: str) -> None:
    """doll's containers' resources, the steps' shared requests and the LimitRange at `path` (if any)."""
    fit_tasks(pod, [("", list(step_names), (), False)], path)


def fit_tasks(pod: RawObject, tasks: Iterable[PodTask], limit_range_file: str) -> None:
    """A pipeline Pod's resources: doll's containers', the LimitRange at `limit_range_file` (if any), and each
    task's (name, its step containers in order, the tasks it runs after, is it a finally task) steps' requests
    set so that the Pod asks for the tasks that can run at once."""
    limits: RawObject = (limit_range(limit_range_file) if limit_range_file
                         else {"min": {}, "max": {}, "default": {}, "defaultRequest": {}})
    containers = {c["name"]: c for c in [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]}
    for name in DOLL_RESOURCES:
        _fit_own(containers[name], limits)
    listed = list(tasks)
    steps = [containers[name] for _, names, _, _ in listed for name in names]
    for step in steps:
        requests = step.setdefault("resources", {}).setdefault("requests", {})
        for name, value in limits["defaultRequest"].items():
            if _asked(step, name) is None:
                requests[name] = value
        for name, low in limits["min"].items():
            if name in requests and quantity(requests[name], name) < quantity(low, name):
                requests[name] = low
    if len(steps) > 1:
        for name in SHARED:
            _share(listed, containers, name, limits["min"])
    for step in steps:
        if not step["resources"]["requests"]:
            del step["resources"]["requests"]
        if not step["resources"]:
            del step["resources"]
