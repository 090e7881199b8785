"""Annotations and Events through both API clients, against an HTTP-level fake API server (real TLS).

The Kubernetes API server cannot run here, so `fake_kube_api.FakeApi` stands in for it at the HTTP
boundary: it answers the two calls the supervisor makes as the real one does (merge-patch semantics,
generateName, Status objects, 401 for a token it does not accept) and lets a test script 403 / 404 / 409 /
5xx answers and slow replies.  Every behaviour test runs with both clients (`client`): the lean aiohttp one
(`http`, the default) has to behave as kubernetes-asyncio does against the same server.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from fake_kube_api import FakeApi, Served
from supervisor.logs import Log
from contracts.plans import Plan
from supervisor.publishing import FAILING_AFTER, Publisher
from supervisor.kube_api import RETRY_AFTER_LIMIT, retry_after, server_url
from supervisor.states import RunState
from supervisor_rig import Pod

PLAN = Plan.from_dict({"steps": [{"name": "a", "index": 0, "container": "step-a"},
                                 {"name": "b", "index": 1, "container": "step-b"}],
                       "pod": {"name": "pod-1", "namespace": "ci"}})


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class Harness:
    def __init__(self, env: dict[str, str], client: str, pod: str = "pod-1", timeout: float = 1.0,
                 plan: Plan = PLAN, record_waits: bool = False) -> None:
        self.state = RunState.from_plan(plan)
        self.stream = io.StringIO()
        self.waits: list[float] = []  # with record_waits: the waits after failures, recorded instead of waited
        self.publisher = Publisher(plan, pod, self.state, Log(self.stream), environ=env, timeout=timeout,
                                   client=client, **({"wait_out": self._record_wait} if record_waits else {}))

        self.task: asyncio.Task[None] | None = None

    async def _record_wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)

    def start(self) -> None:
        self.task = asyncio.create_task(self.publisher.run(), name="publisher-under-test")

    def feed(self, *records: dict[str, Any]) -> None:
        for rec in records:
            rec = {"at": time.time(), **rec}
            self.state.apply(rec)
            self.publisher.notify(rec)

    async def stop(self, flush: float = 10) -> None:
        await self.publisher.flush(flush)
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


async def test_annotations_are_merge_patched_and_events_created(api: Served, client: str) -> None:
    fake, env = api
    h = Harness(env, client)
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
    uid = fake.pods["pod-1"]["metadata"]["uid"]
    assert all(e["involvedObject"] == {"apiVersion": "v1", "kind": "Pod", "name": "pod-1", "namespace": "ci",
                                       "uid": uid} for e in fake.events)
    assert h.warnings() == []


async def test_events_name_the_pods_uid_taken_from_the_first_patchs_answer(api: Served, client: str) -> None:
    """`kubectl describe pod` lists the Events whose involvedObject has the Pod's uid (its events field selector
    has name, namespace, kind and uid).  The supervisor cannot read the uid from the downward API under
    podman; the merge patch's answer is the whole Pod, and the annotations go before any Event."""
    fake, env = api
    h = Harness(env, client)
    h.start()
    h.feed(*RUN, *END)
    await h.stop()
    uid = fake.pods["pod-1"]["metadata"]["uid"]
    assert uid and h.publisher.uid == uid
    assert len(fake.events) == 5 and all(e["involvedObject"]["uid"] == uid for e in fake.events)


async def test_without_rbac_there_is_one_warning_and_publishing_stops(api: Served, client: str) -> None:
    fake, env = api
    fake.script = {"patch": [403] * 20, "event": [403] * 20}
    h = Harness(env, client)
    h.start()
    h.feed(*RUN, *END)
    await h.stop()
    assert len(fake.requests) == 1 and fake.requests[0][1] == 403
    warnings = h.warnings()
    assert len(warnings) == 1 and warnings[0]["event"] == "publishing_disabled" and "403" in warnings[0]["why"]


async def test_an_unknown_pod_gives_one_warning(api: Served, client: str) -> None:
    fake, env = api
    h = Harness(env, client, pod="no-such-pod")
    h.start()
    h.feed({"ev": "run"}, {"ev": "released", "step": "a", "handoff": None})  # no Event: only the patch goes out
    h.feed(*END)
    await h.stop()
    assert ("patch", 404) in fake.requests
    assert [w["event"] for w in h.warnings()] == ["publishing_disabled"]


async def test_conflicts_and_server_errors_are_retried(api: Served, client: str) -> None:
    fake, env = api
    fake.script = {"patch": [409, 500], "event": [503, 409]}
    h = Harness(env, client)
    h.start()
    h.feed(*RUN)
    await h.stop()
    assert [e["reason"] for e in fake.events] == ["StepStarted", "StepFinished"]
    assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/state"] == "running"
    assert [code for what, code in fake.requests if what == "event"][:3] == [503, 409, 201]
    assert h.warnings() == []


async def test_a_request_failing_every_time_is_dropped_and_later_ones_still_go(api: Served, client: str) -> None:
    fake, env = api
    fake.script = {"patch": [], "event": [500, 500, 500]}
    h = Harness(env, client)
    h.start()
    h.feed(*RUN)
    await h.stop()
    assert [e["reason"] for e in fake.events] == ["StepFinished"]  # StepStarted dropped after 3 attempts
    assert [w["event"] for w in h.warnings()] == ["publish_dropped"]


async def test_the_annotations_are_sent_again_after_an_outage_until_they_land(api: Served, client: str) -> None:
    """An API server restart as the run ends: the last state must still reach the Pod, or it shows `running`
    for good.  The latest state is sent again, with a growing wait, until it lands."""
    fake, env = api
    h = Harness(env, client)
    h.start()
    h.feed(*RUN)
    await h.publisher.flush(10)
    assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/state"] == "running"
    fake.script["patch"] = [503] * 5  # then the server answers again
    h.feed(*END)
    await h.stop()
    annotations = fake.pods["pod-1"]["metadata"]["annotations"]
    assert annotations["doll.dev/state"] == "finished" and annotations["doll.dev/outcome"] == "Failed"
    assert [code for what, code in fake.requests if what == "patch"] == [200] + [503] * 5 + [200]
    assert [(w["event"], w["what"]) for w in h.warnings()] == [("publish_failing", "annotations")]


async def test_a_429_is_tried_again_after_the_retry_after_the_server_gives(api: Served, client: str) -> None:
    """kube-apiserver under load answers 429 with `Retry-After: 1` and a plain-text body: the next try waits
    that second (not the 0.1 s backoff, which would spend every try within the second)."""
    fake, env = api
    fake.script = {"patch": [429], "event": [429, 429]}
    h = Harness(env, client, record_waits=True)
    h.start()
    h.feed(*RUN[:3])  # one Event (StepStarted) and the annotations
    await h.publisher.flush(10)
    assert h.waits == [1.0, 1.0, 1.0]  # 1 s after each of the three 429s
    assert [e["reason"] for e in fake.events] == ["StepStarted"]
    assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/state"] == "running"
    assert h.warnings() == []
    await h.stop()


async def test_a_long_retry_after_is_cut_short(api: Served, client: str) -> None:
    fake, env = api
    fake.retry_after = "3600"
    fake.script = {"patch": [], "event": [429]}
    h = Harness(env, client, record_waits=True)
    h.start()
    h.feed(*RUN[:3])
    await h.publisher.flush(10)
    assert h.waits == [RETRY_AFTER_LIMIT]
    assert [e["reason"] for e in fake.events] == ["StepStarted"] and h.warnings() == []
    await h.stop()


def test_retry_after_is_read_in_whole_seconds_as_client_go_reads_it() -> None:
    assert retry_after("1") == 1.0 and retry_after(" 2 ") == 2.0 and retry_after("0") == 0.0
    assert retry_after("3600") == RETRY_AFTER_LIMIT
    assert retry_after(None) is None and retry_after("-1") is None and retry_after("1.5") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None


async def test_a_slow_api_server_never_holds_up_the_run(api: Served, client: str) -> None:
    fake, env = api
    fake.delay = {"patch": 6.0, "event": 6.0}
    h = Harness(env, client, timeout=0.2)
    h.start()
    t0 = time.monotonic()
    h.feed(*RUN, *END)
    assert time.monotonic() - t0 < 0.5  # notify only queues (the server takes 6 s to answer)
    await h.publisher.flush(1.0)  # bounded, whatever the server does
    assert time.monotonic() - t0 < 5.0  # bounded by flush, not by the server's 6 s
    await h.stop(flush=2.0)  # time for FAILING_AFTER timeouts in a row
    assert fake.events == [] and [w["event"] for w in h.warnings()] == ["publish_failing"]
    fake.unblock.set()  # let the server's slow handlers end before the leak check
    await fake.close()


def _steps_plan(n: int) -> Plan:
    return Plan.from_dict({"steps": [{"name": f"s{i}", "index": i, "container": f"step-s{i}"} for i in range(n)],
                           "pod": {"name": "pod-1", "namespace": "ci"}})


def _steps_run(n: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = [{"ev": "run"}]
    for i in range(n):
        records += [{"ev": "released", "step": f"s{i}", "handoff": None}, {"ev": "started", "step": f"s{i}"},
                    {"ev": "finished", "step": f"s{i}", "outcome": "succeeded", "reason": "Completed",
                     "exit_code": 0, "started_at": 1.0, "finished_at": 2.0}]
    return [*records, {"ev": "run_finished", "outcome": "Succeeded", "reason": "Succeeded"}]


async def test_the_annotations_go_before_queued_events(api: Served, client: str) -> None:
    """20 fast steps and an API server answering in 250 ms: the 41 Events take 10 s, the end-of-run flush
    gives 2; the Pod's state (what `kubectl get` shows) must not wait behind them."""
    fake, env = api
    fake.delay = {"patch": 0.25, "event": 0.25}
    h = Harness(env, client, plan=_steps_plan(20))
    h.start()
    h.feed(*_steps_run(20))
    await h.publisher.flush(2.0)
    annotations = fake.pods["pod-1"]["metadata"]["annotations"]
    assert annotations["doll.dev/state"] == "finished" and annotations["doll.dev/outcome"] == "Succeeded"
    assert fake.requests[0] == ("patch", 200) and 0 < len(fake.events) < 41
    await h.stop(flush=0)
    fake.unblock.set()
    await fake.close()


async def test_an_api_server_that_never_answers_gives_one_warning_not_one_per_request(api: Served,
                                                                                     client: str) -> None:
    """Connections accepted, never answered (an overloaded or cut-off API server): every request times out.
    After a few in a row the publisher backs off with one warning, instead of one per queued Event."""
    fake, env = api
    fake.delay = {"patch": 60.0, "event": 60.0}
    h = Harness(env, client, timeout=0.2, plan=_steps_plan(3), record_waits=True)
    h.start()
    h.feed(*_steps_run(3))
    deadline = time.monotonic() + 10.0  # until two requests have failed after the warning, not a fixed 4 s
    while h.publisher.failures < FAILING_AFTER + 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert h.publisher.failures >= FAILING_AFTER + 2
    assert h.waits == [min(0.1 * 2 ** n, 2.0) for n in range(len(h.waits))]  # the backoff, growing
    assert h.task is not None and not h.task.done()
    [warning] = h.warnings()
    assert warning["event"] == "publish_failing" and warning["what"] == "annotations"
    assert warning["failures"] == FAILING_AFTER
    assert len(h.publisher.events) == 7  # kept, for when the server answers again (it never does here)
    await h.stop(flush=0)
    fake.unblock.set()
    await fake.close()


async def test_a_real_supervisor_publishes_and_without_rbac_warns_once(api: Served, client: str) -> None:
    fake, env = api
    for forbidden in (False, True):
        fake.script = {"patch": [403] * 50, "event": [403] * 50} if forbidden else {"patch": [], "event": []}
        fake.events.clear()
        pod = Pod()
        try:
            pod.plan(["a", "b"], publish_to_api=True)
            pod.supervise(env=env, args=["--plan", str(pod.root / "plan.json"), "--kube-client", client])
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


async def test_a_refusal_carries_the_api_servers_message(api: Served) -> None:
    fake, env = api
    h = Harness(env, "http", pod="no-such-pod")
    h.start()
    h.feed({"ev": "run"})
    await h.stop()
    [warning] = h.warnings()
    assert warning["why"].startswith('annotations: HTTP 404: pods "no-such-pod" not found')  # the Status' message


async def test_a_rotated_token_is_used_by_the_next_request(api: Served) -> None:
    """Bound service-account tokens rotate: the kubelet puts a new token file in place.  The lean client sees
    the file change before its next request (kubernetes-asyncio, like client-go, re-reads it once a minute,
    relying on the old token staying valid for a while: this fake refuses it at once)."""
    fake, env = api
    h = Harness(env, "http")
    h.start()
    h.feed(*RUN[:3])
    await h.publisher.flush(10)
    assert [e["reason"] for e in fake.events] == ["StepStarted"]  # with the first token
    fake.rotate_token("doll-rotated-token")  # the first one is refused from now on
    h.feed(*RUN[3:], *END)
    await h.stop()
    assert [e["reason"] for e in fake.events] == ["StepStarted", "StepFinished", "StepStarted", "StepFailed",
                                                  "TaskFailed"]
    assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/outcome"] == "Failed"
    assert 401 not in [code for _, code in fake.requests]
    assert h.warnings() == []


async def test_a_ca_that_did_not_sign_the_servers_certificate_fails_every_request_and_the_run_goes_on(
        api: Served, client: str) -> None:
    fake, env = api
    fake.distrust()
    h = Harness(env, client)
    h.start()
    h.feed(*RUN)
    await h.publisher.flush(2)
    h.feed(*END)
    await h.publisher.flush(1)  # the annotations never land: flush waits its whole time
    assert h.task is not None and not h.task.done()  # neither crashed nor turned off: later records still try
    assert fake.requests == []  # nothing got past the TLS handshake
    [warning] = h.warnings()  # not delivered (status 0) in a row: one warning, then quiet backoff
    assert warning["event"] == "publish_failing" and warning["failures"] == FAILING_AFTER
    assert "certificate verify failed" in warning["error"] and not warning["error"].startswith("HTTP")
    await h.stop(flush=0)


@pytest.mark.parametrize("missing", ["token", "ca.crt", "KUBERNETES_SERVICE_PORT"])
async def test_missing_credentials_give_one_warning_and_publishing_stays_off(api: Served, client: str,
                                                                             missing: str) -> None:
    fake, env = api
    if missing.startswith("KUBERNETES_"):
        del env[missing]
    else:
        (Path(env["DOLL_SERVICEACCOUNT_DIR"]) / missing).unlink()
    h = Harness(env, client)
    h.start()
    assert h.task is not None
    await asyncio.wait_for(h.task, 10)  # it gives up by itself, without raising
    h.feed(*RUN, *END)  # later records are ignored, not queued
    await h.publisher.flush(10)
    assert not h.publisher.events and fake.requests == []
    [warning] = h.warnings()
    assert warning["event"] == "publishing_disabled" and warning["why"].startswith("in-cluster config: ")


def test_an_ipv6_api_server_address_is_put_in_brackets() -> None:
    assert server_url("::1", "6443") == "https://[::1]:6443"
    assert server_url("fd00:10:96::1", "443") == "https://[fd00:10:96::1]:443"
    assert server_url("10.96.0.1", "443") == "https://10.96.0.1:443"


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
async def test_an_api_server_on_ipv6_is_reached(tmp_path: Path, client: str) -> None:
    fake = FakeApi(tmp_path, host="::1")
    env = await fake.start()
    try:
        assert env["KUBERNETES_SERVICE_HOST"] == "::1"
        h = Harness(env, client)
        h.start()
        h.feed(*RUN)
        await h.stop()
        assert [e["reason"] for e in fake.events] == ["StepStarted", "StepFinished"]
        assert h.warnings() == []
    finally:
        await fake.close()


async def test_a_real_supervisor_without_a_token_warns_once_and_finishes_the_run(api: Served, client: str) -> None:
    fake, env = api
    (Path(env["DOLL_SERVICEACCOUNT_DIR"]) / "token").unlink()
    pod = Pod()
    try:
        pod.plan(["a", "b"], publish_to_api=True)
        pod.supervise(env=env, args=["--plan", str(pod.root / "plan.json"), "--kube-client", client])
        pod.steps({"a": "true", "b": "true"})
        assert await asyncio.to_thread(pod.finish) == 0
        warnings = [r for r in pod.supervisor_log() if r["level"] == "warning"]
        assert [w["event"] for w in warnings] == ["publishing_disabled"]
        assert "in-cluster config" in warnings[0]["why"] and fake.requests == []
    finally:
        pod.close()


async def test_without_a_namespace_in_the_plan_events_go_to_the_service_accounts(api: Served, client: str) -> None:
    fake, env = api
    plan = Plan.from_dict({"steps": [{"name": "a", "index": 0, "container": "step-a"}], "pod": {"name": "pod-1"}})
    state = RunState.from_plan(plan)
    publisher = Publisher(plan, "pod-1", state, Log(io.StringIO()), environ=env, timeout=1.0, client=client)
    task = asyncio.create_task(publisher.run(), name="publisher-under-test")
    rec = {"at": time.time(), "ev": "held", "step": "a", "reason": "beforeStep"}
    state.apply(rec)
    publisher.notify(rec)
    await publisher.flush(10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert [e["involvedObject"]["namespace"] for e in fake.events] == ["ci"]
    assert fake.events[0]["metadata"]["namespace"] == "ci"
    assert fake.pods["pod-1"]["metadata"]["annotations"]["doll.dev/hold"] == "a:beforeStep"


async def test_a_token_file_that_is_not_text_gives_one_warning_and_publishing_stays_off(api: Served) -> None:
    fake, env = api
    (Path(env["DOLL_SERVICEACCOUNT_DIR"]) / "token").write_bytes(b"\xff\xfe\x00garbled")
    h = Harness(env, "http")
    h.start()
    assert h.task is not None
    await asyncio.wait_for(h.task, 10)  # it gives up by itself, without raising
    assert fake.requests == []
    [warning] = h.warnings()
    assert warning["event"] == "publishing_disabled" and warning["why"].startswith("in-cluster config: ")
