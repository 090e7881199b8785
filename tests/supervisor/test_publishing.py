"""Annotations and Events through kubernetes-asyncio, against an HTTP-level fake API server (real TLS).

The Kubernetes API server cannot run here, so `fake_kube_api.FakeApi` stands in for it at the HTTP
boundary: it answers the two calls the supervisor makes as the real one does (merge-patch semantics,
generateName, Status objects) and lets a test script 403 / 404 / 409 / 5xx answers and slow replies.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fake_kube_api import FakeApi
from supervisor.logs import Log
from supervisor.plans import Plan
from supervisor.publishing import Publisher
from supervisor.states import RunState
from supervisor_rig import Pod

PLAN = Plan.from_dict({"steps": [{"name": "a", "index": 0, "container": "step-a"},
                                 {"name": "b", "index": 1, "container": "step-b"}],
                       "pod": {"name": "pod-1", "namespace": "ci"}})


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[FakeApi, dict[str, str]]]:
    fake = FakeApi(tmp_path)
    env = await fake.start()
    try:
        yield fake, env
    finally:
        await fake.close()


class Harness:
    def __init__(self, env: dict[str, str], pod: str = "pod-1", timeout: float = 1.0) -> None:
        self.state = RunState.from_plan(PLAN)
        self.stream = io.StringIO()
        self.publisher = Publisher(PLAN, pod, self.state, Log(self.stream), environ=env, timeout=timeout)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.publisher.run(), name="publisher-under-test")

    def feed(self, *records: dict[str, Any]) -> None:
        for rec in records:
            rec = {"at": time.time(), **rec}
            self.state.apply(rec)
            self.publisher.notify(rec)

    async def stop(self) -> None:
        await self.publisher.flush(10)
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def warnings(self) -> list[dict[str, Any]]:
        return [r for r in map(json.loads, self.stream.getvalue().splitlines()) if r["level"] == "warning"]


RUN = [{"ev": "run"}, {"ev": "released", "step": "a", "handoff": None}, {"ev": "started", "step": "a"},
       {"ev": "finished", "step": "a", "outcome": "succeeded", "reason": "Completed", "exit_code": 0,
        "started_at": 1.0, "finished_at": 2.0}]
END = [{"ev": "released", "step": "b", "handoff": 0.001}, {"ev": "started", "step": "b"},
       {"ev": "finished", "step": "b", "outcome": "failed", "reason": "Error", "exit_code": 4, "started_at": 2.0,
        "finished_at": 3.0}, {"ev": "run_finished", "outcome": "Failed", "reason": "Failed"}]


async def test_annotations_are_merge_patched_and_events_created(api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    h = Harness(env)
    h.start()
    h.feed(*RUN, {"ev": "held", "step": "b", "reason": "beforeStep"})
    await h.publisher.flush(10)
    annotations = fake.pods["pod-1"]["metadata"]["annotations"]
    assert annotations["doll.dev/hold"] == "b:beforeStep" and annotations["keep"] == "me"
    h.feed({"ev": "unheld", "step": "b", "decision": "continue"}, *END)
    await h.stop()
    annotations = fake.pods["pod-1"]["metadata"]["annotations"]
    assert "doll.dev/hold" not in annotations  # null in a merge patch removes it
    assert annotations["keep"] == "me" and annotations["doll.dev/outcome"] == "Failed"
    steps = json.loads(annotations["doll.dev/steps"])
    assert [(s["name"], s["state"], s["exitCode"]) for s in steps] == [("a", "succeeded", 0), ("b", "failed", 4)]
    reasons = [e["reason"] for e in fake.events]
    assert reasons == ["StepStarted", "StepFinished", "StepHeld", "StepStarted", "StepFailed", "TaskFailed"]
    assert all(e["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "pod-1", "namespace": "ci"}
               for e in fake.events)
    assert h.warnings() == []


async def test_without_rbac_there_is_one_warning_and_publishing_stops(api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    fake.script = {"patch": [403] * 20, "event": [403] * 20}
    h = Harness(env)
    h.start()
    h.feed(*RUN, *END)
    await h.stop()
    assert len(fake.requests) == 1 and fake.requests[0][1] == 403
    warnings = h.warnings()
    assert len(warnings) == 1 and warnings[0]["event"] == "publishing_disabled" and "403" in warnings[0]["why"]


async def test_an_unknown_pod_gives_one_warning(api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    h = Harness(env, pod="no-such-pod")
    h.start()
    h.feed({"ev": "run"}, {"ev": "released", "step": "a", "handoff": None})  # no Event: only the patch goes out
    h.feed(*END)
    await h.stop()
    assert ("patch", 404) in fake.requests
    assert [w["event"] for w in h.warnings()] == ["publishing_disabled"]


async def test_conflicts_and_server_errors_are_retried(api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    fake.script = {"patch": [409, 500], "event": [503, 409]}
    h = Harness(env)
    h.start()
    h.feed(*RUN)
    await h.stop()
    assert [e["reason"] for e in fake.events] == ["StepStarted", "StepFinished"]
    assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/state"] == "running"
    assert [code for what, code in fake.requests if what == "event"][:3] == [503, 409, 201]
    assert h.warnings() == []


async def test_a_request_failing_every_time_is_dropped_and_later_ones_still_go(
        api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    fake.script = {"patch": [], "event": [500, 500, 500]}
    h = Harness(env)
    h.start()
    h.feed(*RUN)
    await h.stop()
    assert [e["reason"] for e in fake.events] == ["StepFinished"]  # StepStarted dropped after 3 attempts
    assert [w["event"] for w in h.warnings()] == ["publish_dropped"]


async def test_a_slow_api_server_never_holds_up_the_run(api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    fake.delay = {"patch": 6.0, "event": 6.0}
    h = Harness(env, timeout=0.2)
    h.start()
    t0 = time.monotonic()
    h.feed(*RUN, *END)
    assert time.monotonic() - t0 < 0.5  # notify only queues (the server takes 6 s to answer)
    await h.publisher.flush(1.0)  # bounded, whatever the server does
    assert time.monotonic() - t0 < 5.0  # bounded by flush, not by the server's 6 s
    await h.stop()
    assert fake.events == [] and any(w["event"] == "publish_dropped" for w in h.warnings())
    fake.unblock.set()  # let the server's slow handlers end before the leak check
    await fake.close()


async def test_a_real_supervisor_publishes_and_without_rbac_warns_once(api: tuple[FakeApi, dict[str, str]]) -> None:
    fake, env = api
    for forbidden in (False, True):
        fake.script = {"patch": [403] * 50, "event": [403] * 50} if forbidden else {"patch": [], "event": []}
        fake.events.clear()
        pod = Pod()
        try:
            pod.plan(["a", "b"], publish_to_api=True)
            pod.supervise(env=env)
            pod.steps({"a": "true", "b": "true"})
            assert await asyncio.to_thread(pod.finish) == 0  # the run goes on either way
            warnings = [r for r in pod.supervisor_log() if r["level"] == "warning"]
            if forbidden:
                assert [w["event"] for w in warnings] == ["publishing_disabled"]
                assert fake.events == []
            else:
                assert warnings == []
                assert [e["reason"] for e in fake.events] == [
                    "StepStarted", "StepFinished", "StepStarted", "StepFinished", "TaskSucceeded"]
                assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/outcome"] == "Succeeded"
        finally:
            pod.close()
