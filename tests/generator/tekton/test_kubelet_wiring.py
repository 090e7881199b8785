"""What the generated Pod tells the wrapper and the supervisor about the kubelet that runs it.

No kubelet runs here; each test cites the kubelet code whose behaviour the wiring answers (the supervisor
and wrapper behaviour itself is tested with real processes in tests/supervisor and tests/entrypoint)."""

from __future__ import annotations

from pathlib import Path

import pytest
from generated import container, pod_of

from contracts.options import from_argv
from generator.local.localizing import localize

TASK = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: wired}
spec:
  taskSpec:
    sidecars:
      - {name: db, image: busybox, command: [sleep, "60"]}
    steps:
      - {name: a, image: busybox, command: ["true"]}
      - {name: b, image: busybox, command: ["true"]}
"""


def _options(pod: dict, name: str):  # type: ignore[no-untyped-def]
    c = container(pod, name)
    return from_argv(list(c["args"]))


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_every_step_knows_how_many_containers_share_the_kubelets_12_kib_of_messages(layout: str) -> None:
    """pkg/kubelet/status/status_manager.go normalizeStatus: each container's termination message is cut to
    12 KiB divided by the Pod's containers, init containers and ephemeral containers."""
    pod = pod_of(TASK, layout=layout)
    count = len(pod["spec"]["containers"]) + len(pod["spec"].get("initContainers", []))
    assert count == 5  # doll-init, doll-supervisor, the sidecar, two steps
    assert {_options(pod, f"step-{s}").container_count for s in ("a", "b")} == {count}


def test_native_steps_wait_for_a_restarted_supervisor_and_classic_steps_do_not() -> None:
    """pkg/kubelet/kuberuntime/kuberuntime_manager.go computePodActions / computeInitContainerActions: a
    restartable init container (the native supervisor) is restarted after a crash, with back-off; a classic
    container of a restartPolicy: Never Pod is not, so a classic step must fall back to the file chain."""
    native, classic = pod_of(TASK, layout="native"), pod_of(TASK, layout="classic")
    assert _options(native, "step-a").await_supervisor and _options(native, "step-b").await_supervisor
    assert not _options(classic, "step-a").await_supervisor


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_the_grace_after_sigterm_covers_the_final_scrape_and_the_pod_ip_is_the_supervisors(layout: str) -> None:
    """pkg/kubelet/kuberuntime/kuberuntime_container.go killContainersWithSyncResult: every container gets the
    Pod's terminationGracePeriodSeconds after SIGTERM, in which the supervisor serves the final scrape (up to
    linger_seconds); pkg/kubelet/prober/prober.go runProbe: a probe with no host goes to status.podIP."""
    pod = pod_of(TASK, layout=layout, linger_seconds=45.0)
    assert pod["spec"]["terminationGracePeriodSeconds"] == 45 + 15
    env = {e["name"]: e for e in container(pod, "doll-supervisor")["env"]}
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"


def test_doll_run_leaves_pod_ip_out_for_podman_which_refuses_it(tmp_path: Path) -> None:
    """podman 4.3 kube play refuses `fieldPath: status.podIP` ("either not valid or not supported"); under
    doll run the supervisor probes its hostname's address, which podman maps to the pod's IP."""
    local = localize(pod_of(TASK, layout="classic"), tmp_path, None)
    env = {e["name"] for e in container(local.pod, "doll-supervisor")["env"]}
    assert "POD_NAME" in env and "POD_IP" not in env
