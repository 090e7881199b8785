"""Compute resources: doll's own containers, sequential steps reserved once, a LimitRange applied as Tekton does.

The Pod's effective request is computed as the scheduler does (pkg/api/v1/resource/helpers.go PodRequests
with KEP-753: a restartable init container's requests add to the regular containers' sum, and to every
later init container's)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from generated import container, gen, pod_of

from generator.errors import GenerateError
from generator.tekton.resources import DOLL_RESOURCES, quantity

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
