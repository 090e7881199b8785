"""A released step whose wrapper died before its hello fails from the Pod's container statuses (stalls.py).

A real supervisor reads its Pod from `fake_kube_api.FakeApi` (the API server cannot run here), which serves
the containerStatuses a test sets, as the kubelet reports them (pkg/kubelet/kubelet_pods.go
convertToAPIContainerStatuses).  The step's wrapper is simply never started: to the supervisor that is the
same as one SIGKILLed before its hello.  Every test runs with both API clients.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from fake_kube_api import FakeApi, Served
from supervisor.stalls import container_ended
from supervisor_rig import Pod

TIMINGS = {"stall_poll_seconds": 0.1}
TERMINATED = {"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-12-03T10:00:00Z",
                                       "finishedAt": "2026-12-03T10:00:01Z", "containerID": "containerd://1"}}}
RUNNING = {"state": {"running": {"startedAt": "2026-12-03T10:00:00Z"}}}


def _waiting(reason: str) -> dict[str, Any]:
    return {"state": {"waiting": {"reason": reason}}}


async def _until(predicate: Any, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def _start(pod: Pod, env: dict[str, str], client: str) -> None:
    pod.plan(["a", "b"], publish_to_api=True)
    pod.supervise(env=env, args=["--plan", str(pod.root / "plan.json"), "--kube-client", client], timings=TIMINGS)


def _gets(fake: FakeApi) -> int:
    return sum(1 for what, _ in fake.requests if what == "get")


async def test_a_step_whose_container_terminated_before_its_hello_fails_with_the_reason(api: Served,
                                                                                       client: str) -> None:
    """state.terminated (kubelet: convertToAPIContainerStatuses, from the runtime's exited container):
    step a's wrapper never said hello, so the step fails at once, b is skipped, the task fails."""
    fake, env = api
    fake.container_statuses("pod-1", **{"step-a": TERMINATED, "step-b": RUNNING})
    pod = Pod()
    try:
        _start(pod, env, client)
        began = time.monotonic()
        pod.step("b", 1, "true", prev="a")  # waits for its turn; a's wrapper is never there
        assert await asyncio.to_thread(pod.finish) == 1
        assert time.monotonic() - began < 10  # not the task's timeout
        finished = {r["step"]: r for r in pod.journal() if r["ev"] == "finished"}
        assert finished["a"]["outcome"] == "failed" and finished["a"]["exit_code"] == 137
        assert finished["a"]["message"] == \
            "its container terminated with exit code 137 (OOMKilled) before its wrapper said hello"
        assert [r["step"] for r in pod.journal() if r["ev"] == "skipped"] == ["b"]
        events = [e for e in fake.events if e["reason"] == "StepFailed"]
        assert events and "OOMKilled" in events[0]["message"]
        assert [w["event"] for w in pod.supervisor_log() if w["level"] == "warning"] == ["step_container_ended"]
    finally:
        pod.close()


async def test_a_container_still_being_created_is_left_alone(api: Served, client: str) -> None:
    """waiting ContainerCreating (the kubelet's default waiting reason while the image is pulled,
    kubelet_pods.go convertToAPIContainerStatuses): a slow pull is not a dead wrapper; once the wrapper
    comes the run goes on, and no GET is made once no step waits for a wrapper never heard."""
    fake, env = api
    fake.container_statuses("pod-1", **{"step-a": _waiting("ContainerCreating"), "step-b": RUNNING})
    pod = Pod()
    try:
        _start(pod, env, client)
        await _until(lambda: _gets(fake) >= 3, "three GETs of the Pod")
        assert not [r for r in pod.journal() if r["ev"] == "finished"]
        pod.steps({"a": "true", "b": "true"})
        assert await asyncio.to_thread(pod.finish) == 0
        assert [w for w in pod.supervisor_log() if w["level"] == "warning"] == []
    finally:
        pod.close()


async def test_without_rbac_to_get_the_pod_one_warning_and_the_run_goes_on(api: Served, client: str) -> None:
    """403 on GET (the Role without `get`): one stall_watch_disabled warning, then no more GETs; the run
    behaves as without the watch (the step waits for its wrapper)."""
    fake, env = api
    fake.script["get"] = [403] * 50
    fake.container_statuses("pod-1", **{"step-a": TERMINATED})
    pod = Pod()
    try:
        _start(pod, env, client)
        await _until(lambda: _gets(fake) >= 1, "a GET of the Pod")
        await asyncio.sleep(0.5)  # five periods
        assert _gets(fake) == 1
        assert not [r for r in pod.journal() if r["ev"] == "finished"]
        pod.steps({"a": "true", "b": "true"})
        assert await asyncio.to_thread(pod.finish) == 0
        assert [w["event"] for w in pod.supervisor_log() if w["level"] == "warning"] == ["stall_watch_disabled"]
    finally:
        pod.close()


@pytest.mark.parametrize("status, ended", [
    (TERMINATED, (137, "its container terminated with exit code 137 (OOMKilled)")),
    ({"state": {"terminated": {"exitCode": 1}}}, (1, "its container terminated with exit code 1 (Error)")),
    ({"state": {"waiting": {"reason": "CrashLoopBackOff"}},  # kuberuntime_manager.go doBackOff, after a run
      "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}},
     (2, "its container terminated with exit code 2 (Error)")),
    (_waiting("CrashLoopBackOff"), None),  # never ran: no lastState
    (_waiting("ContainerCreating"), None),
    (_waiting("PodInitializing"), None),
    (_waiting("ErrImagePull"), None),  # pkg/kubelet/images: the kubelet retries, Tekton's reconciler judges
    ({**_waiting("ImagePullBackOff"), "lastState": {}}, None),
    (RUNNING, None),
    (None, None),
])
def test_what_counts_as_a_container_that_ended(status: dict[str, Any] | None,
                                               ended: tuple[int, str] | None) -> None:
    assert container_ended(status) == ended


async def test_a_failing_api_server_gives_one_warning_and_fewer_gets_then_the_step_fails(api: Served,
                                                                                          client: str) -> None:
    """500s: one stall_watch_failing warning for the streak, the wait between GETs doubling (0.1 s period:
    0.2, 0.4, 0.8, 1.6 s), never a flood; once the server answers, the dead step fails."""
    fake, env = api
    fake.script["get"] = [500] * 5
    fake.container_statuses("pod-1", **{"step-a": TERMINATED, "step-b": RUNNING})
    pod = Pod()
    try:
        _start(pod, env, client)
        pod.step("b", 1, "true", prev="a")
        await _until(lambda: _gets(fake) >= 1, "a GET of the Pod")
        await asyncio.sleep(1.5)
        assert _gets(fake) <= 5  # about 4; 15 at a fixed period
        assert await asyncio.to_thread(pod.finish) == 1
        assert [code for what, code in fake.requests if what == "get"] == [500] * 5 + [200]
        assert [w["event"] for w in pod.supervisor_log() if w["level"] == "warning"] == [
            "stall_watch_failing", "step_container_ended"]
    finally:
        pod.close()
