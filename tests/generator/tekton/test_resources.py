"""Compute resources: doll's own containers, sequential steps reserved once, a pipeline's tasks reserved for what
can run at once, a LimitRange applied as Tekton does.

The Pod's effective request is computed as the scheduler does (pkg/api/v1/resource/helpers.go PodRequests
with KEP-753: a restartable init container's requests add to the regular containers' sum, and to every
later init container's)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from generated import container, gen, pod_of, validate_strictly

from generator.errors import GenerateError
from generator.tekton.resources import DOLL_RESOURCES, PodTask, fit_tasks, quantity

RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: heavy}
spec:
  taskSpec:
    sidecars:
      - {name: db, image: postgres, command: [postgres], computeResources: {requests: {cpu: 500m, memory: 1Gi}}}
    steps:
      - {name: small, image: busybox, script: echo, computeResources: {requests: {cpu: "1", memory: 1Gi}}}
      - {name: big, image: busybox, script: echo,
         computeResources: {requests: {cpu: "2", memory: 512Mi}, limits: {cpu: "3", memory: 2Gi}}}
      - {name: capped, image: busybox, script: echo, computeResources: {limits: {cpu: 1500m, memory: 3Gi}}}
      - {name: bare, image: busybox, script: echo}
"""


def _requests(c: dict[str, Any]) -> dict[str, Decimal]:
    """A container's requests after API defaulting (core/v1 SetDefaults_Pod: no request -> the limit)."""
    resources = c.get("resources") or {}
    merged = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
    return {k: quantity(v, k) for k, v in merged.items()}


def _add(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: a.get(k, Decimal(0)) + b.get(k, Decimal(0)) for k in {*a, *b}}


def _max(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, Decimal]:
    return {k: max(a.get(k, Decimal(0)), b.get(k, Decimal(0))) for k in {*a, *b}}


def pod_requests(pod: dict[str, Any]) -> dict[str, Decimal]:
    """helpers.go PodRequests: sum(containers) + sum(restartable init) vs max over init containers of its
    requests plus the restartable init containers before it (for a restartable one: their running sum)."""
    reqs: dict[str, Decimal] = {}
    for c in pod["spec"]["containers"]:
        reqs = _add(reqs, _requests(c))
    restartable: dict[str, Decimal] = {}
    init_max: dict[str, Decimal] = {}
    for c in pod["spec"].get("initContainers") or []:
        if c.get("restartPolicy") == "Always":
            reqs = _add(reqs, _requests(c))
            restartable = _add(restartable, _requests(c))
            effective = restartable
        else:
            effective = _add(_requests(c), restartable)
        init_max = _max(init_max, effective)
    return _max(reqs, init_max)


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_sequential_steps_are_reserved_once_the_largest_request_per_resource(layout: str) -> None:
    """Steps run one at a time: the step asking the most cpu (big, 2) and the most memory (capped, 3Gi by its
    limit: a request defaults to the limit) keep it, every other step asks 0 of it; limits are kept.  The Pod
    asks the largest step plus the sidecar plus the supervisor, not the sum of the steps."""
    pod = pod_of(RUN, layout=layout)
    assert container(pod, "step-big")["resources"] == {"requests": {"cpu": "2", "memory": "0"},
                                                       "limits": {"cpu": "3", "memory": "2Gi"}}
    assert container(pod, "step-small")["resources"]["requests"] == {"cpu": "0", "memory": "0"}
    assert container(pod, "step-capped")["resources"] == {"limits": {"cpu": "1500m", "memory": "3Gi"},
                                                          "requests": {"cpu": "0"}}
    assert "resources" not in container(pod, "step-bare")
    supervisor = DOLL_RESOURCES["doll-supervisor"]["requests"]
    total = pod_requests(pod)
    assert total["cpu"] == Decimal(2) + Decimal("0.5") + quantity(supervisor["cpu"], "cpu")
    assert total["memory"] == quantity("3Gi", "") + quantity("1Gi", "") + quantity(supervisor["memory"], "")


def test_dolls_own_containers_ask_small_requests_and_limits_so_a_quota_admits_them() -> None:
    """A ResourceQuota on requests.*/limits.* refuses a Pod with a container that sets none
    (plugin/pkg/admission/resourcequota, pkg/quota/v1/evaluator/core/pods.go enforcePodContainerConstraints)."""
    pod = pod_of(RUN)
    for name in ("doll-init", "doll-supervisor"):
        resources = container(pod, name)["resources"]
        for kind in ("requests", "limits"):
            assert set(resources[kind]) == {"cpu", "memory"}
        assert quantity(resources["requests"]["memory"], "") <= quantity("64Mi", "")


def test_a_single_step_keeps_its_requests() -> None:
    pod = pod_of("""\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: one}
    spec:
      taskSpec:
        steps: [{name: only, image: busybox, script: echo, computeResources: {requests: {cpu: "1"}}}]
    """)
    assert container(pod, "step-only")["resources"] == {"requests": {"cpu": "1"}}


LIMIT_RANGE = """\
apiVersion: v1
kind: LimitRange
metadata: {name: lr}
spec:
  limits:
    - type: Container
      default: {cpu: "2", memory: 1Gi}
      defaultRequest: {cpu: "1", memory: 512Mi}
      min: {cpu: 50m, memory: 40Mi}
      max: {cpu: "4", memory: 200Mi}
    - type: Pod
      max: {cpu: "8"}
"""


def test_a_limit_range_default_goes_to_one_step_and_the_minimum_to_the_others(tmp_path: Path) -> None:
    """Tekton (docs/compute-resources.md, Requests): a step with no request gets the LimitRange's
    defaultRequest and every request is at least its min; doll then reserves the steps once, so only one
    step keeps the default and the others ask the min (the LimitRanger admission plugin would give each
    step the whole default: plugin/pkg/admission/limitranger/admission.go defaultContainerResourceRequirements).
    doll's own containers are fitted into [min, max]."""
    path = tmp_path / "lr.yaml"
    path.write_text(LIMIT_RANGE)
    pod = pod_of("""\
    apiVersion: tekton.dev/v1
    kind: TaskRun
    metadata: {name: lr}
    spec:
      taskSpec:
        steps:
          - {name: a, image: busybox, script: echo}
          - {name: b, image: busybox, script: echo}
          - {name: c, image: busybox, script: echo, computeResources: {requests: {cpu: 10m}}}
    """, limit_range=str(path))
    assert container(pod, "step-a")["resources"]["requests"] == {"cpu": "1", "memory": "512Mi"}
    assert container(pod, "step-b")["resources"]["requests"] == {"cpu": "50m", "memory": "40Mi"}
    assert container(pod, "step-c")["resources"]["requests"] == {"cpu": "50m", "memory": "40Mi"}
    assert container(pod, "doll-init")["resources"]["requests"] == {"cpu": "50m", "memory": "40Mi"}
    assert container(pod, "doll-supervisor")["resources"]["limits"] == {"cpu": "500m", "memory": "200Mi"}


def test_several_limit_ranges_merge_as_tekton_merges_them(tmp_path: Path) -> None:
    """docs/compute-resources.md, Support for multiple LimitRanges: the largest min, the smallest max and
    defaults; a default below the min is the min."""
    path = tmp_path / "lr.yaml"
    path.write_text("""\
apiVersion: v1
kind: LimitRange
spec: {limits: [{type: Container, defaultRequest: {cpu: 750m}, min: {cpu: 500m}}]}
---
apiVersion: v1
kind: LimitRange
spec: {limits: [{type: Container, defaultRequest: {cpu: "1"}, min: {cpu: 300m}}]}
""")
    from generator.tekton.resources import limit_range
    assert limit_range(str(path))["defaultRequest"] == {"cpu": "750m"}
    assert limit_range(str(path))["min"] == {"cpu": "500m"}


def test_a_file_that_is_not_a_limit_range_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(GenerateError, match=f"^--limit-range {path}: expected LimitRange objects$"):
        gen(RUN, limit_range=str(path))


def test_a_bad_limit_range_is_told_before_any_image_lookup(tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match=f"^--limit-range {tmp_path}/none.yaml: cannot read"):
        gen("""\
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: lookup}
        spec:
          taskSpec:
            steps: [{name: only, image: alpine}]
        """, limit_range=str(tmp_path / "none.yaml"))


# A pipeline's Pod (issue 14): every task's steps and sidecars in one Pod.  Tekton runs tasks with no path
# between them in parallel (docs/pipelines.md, Configuring the Task execution order) and finally tasks after
# every DAG task (docs/pipelines.md, Adding Finally to the Pipeline); a task's steps run one at a time.

def _pipeline_pod(steps: dict[str, dict[str, Any]], sidecars: dict[str, dict[str, Any]] | None = None
                  ) -> dict[str, Any]:
    """A pipeline Pod as assembling renders it: doll-init, the supervisor, sidecars and step containers, each
    with the computeResources its Task gave it."""
    def one(name: str, resources: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "image": "busybox", **({"resources": resources} if resources else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pipeline-pod"},
            "spec": {"initContainers": [one("doll-init", {})],
                     "containers": [one("doll-supervisor", {}),
                                    *(one(n, r) for n, r in (sidecars or {}).items()),
                                    *(one(n, r) for n, r in steps.items())]}}


def _cpu(value: str) -> dict[str, Any]:
    return {"requests": {"cpu": value}}


def _steps_ask(pod: dict[str, Any], resource: str = "cpu") -> Decimal:
    """What the step containers together ask the scheduler for."""
    return sum((_requests(c).get(resource, Decimal(0)) for c in pod["spec"]["containers"]
                if c["name"].startswith("step-")), Decimal(0))


def _assert_valid(pod: dict[str, Any]) -> None:
    """The API server refuses a container whose request exceeds its limit (core validation)."""
    validate_strictly(pod)
    for c in [*pod["spec"]["initContainers"], *pod["spec"]["containers"]]:
        resources = c.get("resources") or {}
        for name, limit in (resources.get("limits") or {}).items():
            assert quantity((resources.get("requests") or {}).get(name, limit), name) <= quantity(limit, name)


FAN: list[PodTask] = [("fetch", ["step-fetch-clone", "step-fetch-check"], [], False),
       ("lint", ["step-lint-run"], ["fetch"], False),
       ("test", ["step-test-unit", "step-test-e2e"], ["fetch"], False),
       ("build", ["step-build-compile"], ["fetch"], False),
       ("push", ["step-push-push"], ["lint", "test", "build"], False)]


def test_one_task_then_three_in_parallel_then_one_asks_for_the_three_parallel_tasks_sum() -> None:
    """fetch and push ask 2 cpu each, but lint, test and build run together and ask 1 + 1.5 + 1: the Pod
    reserves 3.5, what the DAG can use at once, and not 8.5, the sum of every step."""
    pod = _pipeline_pod({"step-fetch-clone": _cpu("2"), "step-fetch-check": _cpu("1"),
                         "step-lint-run": _cpu("1"), "step-test-unit": _cpu("1500m"),
                         "step-test-e2e": _cpu("500m"), "step-build-compile": _cpu("1"),
                         "step-push-push": _cpu("2")})
    fit_tasks(pod, FAN, "")
    assert _steps_ask(pod) == Decimal("3.5")
    assert container(pod, "step-test-unit")["resources"] == _cpu("1500m")
    assert container(pod, "step-test-e2e")["resources"] == _cpu("0")
    assert container(pod, "step-lint-run")["resources"] == _cpu("1")
    assert container(pod, "step-fetch-clone")["resources"] == _cpu("0")
    assert container(pod, "step-push-push")["resources"] == _cpu("0")
    _assert_valid(pod)


def test_a_heavy_task_before_the_parallel_tasks_is_what_the_pod_asks_for() -> None:
    pod = _pipeline_pod({"step-fetch-clone": _cpu("8"), "step-fetch-check": _cpu("1"),
                         "step-lint-run": _cpu("1"), "step-test-unit": _cpu("1"), "step-test-e2e": _cpu("1"),
                         "step-build-compile": _cpu("1"), "step-push-push": _cpu("1")})
    fit_tasks(pod, FAN, "")
    assert _steps_ask(pod) == Decimal(8)
    assert container(pod, "step-fetch-clone")["resources"] == _cpu("8")


def test_a_chain_of_tasks_asks_for_its_largest_step() -> None:
    pod = _pipeline_pod({"step-a-one": _cpu("1"), "step-a-two": {"requests": {"cpu": "3", "memory": "1Gi"}},
                         "step-b-one": {"requests": {"cpu": "2", "memory": "2Gi"}}, "step-c-one": _cpu("500m")})
    fit_tasks(pod, [("a", ["step-a-one", "step-a-two"], [], False), ("b", ["step-b-one"], ["a"], False),
                    ("c", ["step-c-one"], ["b"], False)], "")
    assert _steps_ask(pod, "cpu") == Decimal(3)
    assert _steps_ask(pod, "memory") == quantity("2Gi", "")
    assert container(pod, "step-a-two")["resources"]["requests"] == {"cpu": "3", "memory": "0"}
    assert container(pod, "step-b-one")["resources"]["requests"] == {"cpu": "0", "memory": "2Gi"}


def test_finally_tasks_do_not_add_to_the_dags_peak() -> None:
    """Finally tasks run after every DAG task, together: the Pod asks the larger of the two peaks."""
    steps = {"step-a-x": _cpu("2"), "step-b-x": _cpu("2"), "step-notify-x": _cpu("1"), "step-report-x": _cpu("1")}
    tasks: list[PodTask] = [("a", ["step-a-x"], [], False), ("b", ["step-b-x"], [], False),
                            ("notify", ["step-notify-x"], [], True), ("report", ["step-report-x"], [], True)]
    pod = _pipeline_pod(steps)
    fit_tasks(pod, tasks, "")
    assert _steps_ask(pod) == Decimal(4)
    assert container(pod, "step-notify-x")["resources"] == _cpu("0")
    heavy_finally = _pipeline_pod({**steps, "step-notify-x": _cpu("3"), "step-report-x": _cpu("3")})
    fit_tasks(heavy_finally, tasks, "")
    assert _steps_ask(heavy_finally) == Decimal(6)
    assert container(heavy_finally, "step-a-x")["resources"] == _cpu("0")


def test_sidecars_and_dolls_containers_keep_their_requests_in_a_pipeline_pod() -> None:
    """Every task's sidecars run the whole time: they are not the DAG's to share."""
    pod = _pipeline_pod({"step-a-x": _cpu("2"), "step-b-x": _cpu("1")}, sidecars={"sidecar-a-db": _cpu("500m")})
    fit_tasks(pod, [("a", ["step-a-x"], [], False), ("b", ["step-b-x"], ["a"], False)], "")
    assert container(pod, "sidecar-a-db")["resources"] == _cpu("500m")
    assert container(pod, "doll-supervisor")["resources"] == DOLL_RESOURCES["doll-supervisor"]
    supervisor = quantity(DOLL_RESOURCES["doll-supervisor"]["requests"]["cpu"], "")
    assert pod_requests(pod)["cpu"] == Decimal("2.5") + supervisor


def test_limits_are_kept_and_a_limit_without_a_request_is_what_the_step_asks() -> None:
    pod = _pipeline_pod({"step-a-x": {"limits": {"cpu": "3", "memory": "1Gi"}},
                         "step-b-x": {"requests": {"cpu": "1"}, "limits": {"cpu": "2", "memory": "2Gi"}}})
    fit_tasks(pod, [("a", ["step-a-x"], [], False), ("b", ["step-b-x"], [], False)], "")
    assert container(pod, "step-a-x")["resources"] == {"limits": {"cpu": "3", "memory": "1Gi"}}
    assert container(pod, "step-b-x")["resources"] == {"requests": {"cpu": "1"},
                                                       "limits": {"cpu": "2", "memory": "2Gi"}}
    assert _steps_ask(pod, "cpu") == Decimal(4)
    _assert_valid(pod)


def test_a_limit_range_default_goes_to_the_tasks_that_run_at_once_and_the_minimum_to_the_others(
        tmp_path: Path) -> None:
    """With --limit-range every step gets defaultRequest (cpu 1, memory 512Mi), then only the parallel
    tasks' largest steps keep it; every other step asks the minimum (50m, 40Mi), as a Task's steps do."""
    path = tmp_path / "lr.yaml"
    path.write_text(LIMIT_RANGE)
    pod = _pipeline_pod({"step-a-x": {}, "step-a-y": {}, "step-b-x": {}, "step-c-x": {}})
    fit_tasks(pod, [("a", ["step-a-x", "step-a-y"], [], False), ("b", ["step-b-x"], ["a"], False),
                    ("c", ["step-c-x"], ["a"], False)], str(path))
    for name in ("step-b-x", "step-c-x"):
        assert container(pod, name)["resources"]["requests"] == {"cpu": "1", "memory": "512Mi"}
    for name in ("step-a-x", "step-a-y"):
        assert container(pod, name)["resources"]["requests"] == {"cpu": "50m", "memory": "40Mi"}
    assert container(pod, "doll-init")["resources"]["requests"] == {"cpu": "50m", "memory": "40Mi"}


def test_a_pipeline_of_one_task_asks_what_the_same_task_run_asks() -> None:
    """The Task rule is the pipeline rule for one task: the TaskRun RUN's steps, as one pipeline task."""
    task_pod = pod_of(RUN)
    names = ["step-small", "step-big", "step-capped", "step-bare"]
    pod = _pipeline_pod({"step-small": {"requests": {"cpu": "1", "memory": "1Gi"}},
                         "step-big": {"requests": {"cpu": "2", "memory": "512Mi"},
                                      "limits": {"cpu": "3", "memory": "2Gi"}},
                         "step-capped": {"limits": {"cpu": "1500m", "memory": "3Gi"}}, "step-bare": {}})
    fit_tasks(pod, [("heavy", names, [], False)], "")
    for name in names:
        assert container(pod, name).get("resources") == container(task_pod, name).get("resources")


def test_every_pipeline_pod_asks_its_dags_peak_and_stays_valid() -> None:
    """Random DAGs of random tasks: the steps ask exactly the heaviest set of tasks that can run at once
    (checked against every subset), and no request exceeds its limit."""
    rng = random.Random(1414)
    for _ in range(60):
        n = rng.randint(1, 6)
        tasks: list[PodTask] = [(f"t{i}", [f"step-t{i}-s{j}" for j in range(rng.randint(1, 3))],
                                 [f"t{k}" for k in range(i) if rng.random() < 0.4], False) for i in range(n)]
        finals: list[PodTask] = [(f"f{i}", [f"step-f{i}-s"], [], True) for i in range(rng.randint(0, 2))]
        steps: dict[str, dict[str, Any]] = {}
        for _, names, _, _ in [*tasks, *finals]:
            for name in names:
                cpu = rng.randint(0, 8) * 250
                kind = rng.choice(["requests", "limits", "both", "none"])
                steps[name] = ({} if kind == "none" else {"limits": {"cpu": f"{cpu}m"}} if kind == "limits"
                               else {"requests": {"cpu": f"{cpu}m"}} if kind == "requests"
                               else {"requests": {"cpu": f"{cpu}m"}, "limits": {"cpu": f"{cpu + 250}m"}})
        pod = _pipeline_pod(steps)
        demand = {t: max((_requests({"resources": steps[s]}).get("cpu", Decimal(0)) for s in names), default=Decimal(0))
                  for t, names, _, _ in [*tasks, *finals]}
        fit_tasks(pod, [*tasks, *finals], "")
        peaks = [_heaviest({t: demand[t] for t, _, _, _ in group}, {t: after for t, _, after, _ in group})
                 for group in (tasks, finals)]
        assert _steps_ask(pod) == max(peaks), (steps, tasks)
        _assert_valid(pod)


def _heaviest(weights: dict[str, Decimal], after: dict[str, Sequence[str]]) -> Decimal:
    """Every subset of tasks no two of which are ordered: the heaviest."""
    def above(name: str) -> set[str]:
        return {a for b in after[name] for a in {b, *above(b)}}
    return max(sum((weights[t] for t in subset), Decimal(0))
               for size in range(len(weights) + 1) for subset in itertools.combinations(weights, size)
               if all(a not in above(b) and b not in above(a) for a, b in itertools.combinations(subset, 2)))
