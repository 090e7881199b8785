"""Pod annotations and Kubernetes Events through the API server, best effort.

`Publisher` turns journal records into Events (step started / finished / failed / held, task ended) and
keeps the Pod's `doll.dev/*` annotations up to date (JSON merge patches, coalesced).  It never blocks the
run: records are queued and each request is bounded.  The annotations go before queued Events (at most
one patch per COALESCE_SECONDS while Events wait): they are the Pod's state, which `kubectl get` shows.

A request that may pass later (409, 429, 5xx, not delivered) is tried again after a wait that doubles with
each failure in a row (0.1 s up to 2 s), or the answer's Retry-After (at most
kube_api.RETRY_AFTER_LIMIT): an Event a few times, then dropped with a warning; the annotations until they
land (the latest state each time).  Failures of the same kind in a row, more than one Event's tries (the API
server is down or overloaded, not one request refused), give one `publish_failing` warning and no more until
a request lands again.  403 (no RBAC) or 404 (no such Pod) turns publishing off with one warning.

The requests go through a `kube_api.PodApi`: aiohttp's client by default, or kubernetes-asyncio
(`doll supervise --kube-client`), opened only when the Pod has in-cluster credentials (KUBERNETES_SERVICE_HOST
and a service account token).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from supervisor import kube_api
from supervisor.logs import Log
from contracts.plans import Plan
from supervisor.kube_api import ApiFailure, PodApi
from contracts.journal import JournalRecord
from supervisor.states import RunState

__all__ = [
    "ATTEMPTS", "BACKOFF_SECONDS", "COALESCE_SECONDS", "event_for", "FAILING_AFTER", "pod_annotations", "PREFIX",
    "Publisher", "REQUEST_TIMEOUT", "TASKS_ANNOTATION_LIMIT",
]

REQUEST_TIMEOUT = kube_api.REQUEST_TIMEOUT
ATTEMPTS = 3  # tries of one Event; the annotations are tried until they land
FAILING_AFTER = ATTEMPTS + 1  # failures of the same kind in a row that make one warning for all
BACKOFF_SECONDS = (0.1, 2.0)  # the wait after a first failure in a row, doubled after each next one up to the second
COALESCE_SECONDS = 0.2
PREFIX = "doll.dev/"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_for(rec: JournalRecord) -> tuple[str, str, str] | None:
    """(type, reason, message) of the Event a record deserves, if any."""
    if rec["ev"] == "started":
        return "Normal", "StepStarted", f"step {rec['step']} started"
    if rec["ev"] == "finished":
        if rec["outcome"] == "succeeded":
            return "Normal", "StepFinished", f"step {rec['step']} succeeded"
        return "Warning", "StepFailed", (f"step {rec['step']} {rec['outcome']}: exit code {rec.get('exit_code')}"
                                         f" ({rec['reason']}) {rec.get('message', '')}".strip())
    if rec["ev"] == "held":
        return "Warning", "StepHeld", (f"step {rec['step']} held ({rec['reason']}): "
                                       f"doll ctl continue {rec['step']} | fail {rec['step']}")
    if rec["ev"] == "task_finished":
        kind = "Normal" if rec["outcome"] == "Succeeded" else "Warning"
        return kind, f"PipelineTask{rec['outcome']}", (f"task {rec['task']} {rec['outcome'].lower()} ({rec['reason']})"
                                                       f" {rec.get('message', '')}".strip())
    if rec["ev"] == "task_skipped":
        return "Normal", "PipelineTaskSkipped", f"task {rec['task']} skipped ({rec['reason']}) {rec.get('message', '')}".strip()
    if rec["ev"] == "sidecar_failed":
        return "Warning", "SidecarFailed", rec.get("reason", "")
    if rec["ev"] == "run_finished":
        kind = "Normal" if rec["outcome"] == "Succeeded" else "Warning"
        return kind, f"Task{rec['outcome']}", f"task {rec['outcome'].lower()}: {rec.get('reason', '')}"
    return None


def pod_annotations(state: RunState) -> dict[str, str | None]:
    hold = state.current_hold()
    steps = [{"name": s.name, "state": s.outcome if s.phase == "done" else s.phase, "exitCode": s.exit_code,
              "startedAt": s.started_at, "finishedAt": s.finished_at} for s in state.steps]
    return {
        PREFIX + "state": "finished" if state.finished else "running",
        PREFIX + "outcome": state.outcome or None,
        PREFIX + "hold": None if hold is None else f"{hold.name}:{hold.hold_reason}",
        PREFIX + "steps": json.dumps(steps, separators=(",", ":")),
        PREFIX + "tasks": _tasks_annotation(state),
    }


TASKS_ANNOTATION_LIMIT = 8192  # characters; past it the annotation counts the tasks by state instead


def _tasks_annotation(state: RunState) -> str | None:
    """A pipeline's tasks: each one's state and reason, or (too many to list) how many are in each state."""
    if not state.is_pipeline:
        return None
    tasks = [{"name": t.name, "state": t.outcome or t.phase, "reason": t.reason} for t in state.tasks]
    text = json.dumps(tasks, separators=(",", ":"))
    if len(text) <= TASKS_ANNOTATION_LIMIT:
        return text
    counts: dict[str, int] = {}
    for t in tasks:
        counts[t["state"]] = counts.get(t["state"], 0) + 1
    return json.dumps({"counts": counts}, separators=(",", ":"), sort_keys=True)


def _may_pass(failure: ApiFailure) -> bool:
    """A conflict, throttling, the server's own error, or not delivered: worth trying again."""
    return failure.status in (0, 409, 429) or failure.status >= 500


class Publisher:
    def __init__(self, plan: Plan, pod: str, state: RunState, log: Log, api: PodApi | None = None,
                 environ: dict[str, str] | None = None, timeout: float = REQUEST_TIMEOUT,
                 client: str = kube_api.KUBE_CLIENTS[0],
                 wait_out: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.plan, self.pod, self.state, self.log, self.timeout = plan, pod, state, log, timeout
        self.wait_out = wait_out  # how the wait after a failure (backoff, Retry-After) passes: a test records it
        self.api = api
        self.client = client  # which PodApi to open when `api` is None: one of kube_api.KUBE_CLIENTS
        self.environ = dict(os.environ) if environ is None else environ
        self.events: deque[dict[str, Any]] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.dirty = False  # the annotations have changed since they last landed
        self.enabled = True
        self.tries = 0  # failed tries of the first queued Event
        self.failures = 0  # requests failed in a row with `failing` (a status, 0: not delivered)
        self.failing = 0
        self.patched_at = -math.inf  # loop time of the last patch sent
        self.uid = ""  # the Pod's, from the first patch's answer: `kubectl describe pod` shows Events naming it
        self.sent = {"events": 0, "patches": 0, "dropped": 0}

    def notify(self, rec: JournalRecord) -> None:
        if not self.enabled:
            return
        self.dirty = True
        found = event_for(rec)
        if found is not None:
            kind, reason, message = found
            self.events.append(self._event(kind, reason, message, float(rec["at"])))
        self.idle.clear()
        self.wake.set()

    def _event(self, kind: str, reason: str, message: str, at: float) -> dict[str, Any]:
        """The Event's body; its namespace (the API client's) and the Pod's uid are filled in when it is sent
        (`_send_event`): `kubectl describe pod` lists the Events whose involvedObject has the Pod's uid."""
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"generateName": f"{self.pod}.doll."},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": self.pod},
                "type": kind, "reason": reason, "message": message[:1024],
                "firstTimestamp": _iso(at), "lastTimestamp": _iso(at), "count": 1,
                "source": {"component": "doll-supervisor"}, "reportingComponent": "doll-supervisor",
                "reportingInstance": self.pod}

    def _disable(self, why: str) -> None:
        self.enabled = False
        self.events.clear()
        self.dirty = False
        self.idle.set()
        self.log.warning("publishing_disabled", why=why)

    async def run(self) -> None:
        if self.api is None:
            if not self.environ.get("KUBERNETES_SERVICE_HOST"):
                self._disable("not in a cluster (no KUBERNETES_SERVICE_HOST): no annotations or Events")
                return
            try:
                self.api = await kube_api.open_pod_api(self.client, self.pod, self.plan.pod.namespace,
                                                         self.environ, self.timeout)
            except ApiFailure as exc:
                self._disable(str(exc))
                return
        try:
            while self.enabled:
                if not self.events and not self.dirty:
                    self.idle.set()
                    self.wake.clear()
                    await self.wake.wait()
                    await asyncio.sleep(COALESCE_SECONDS)
                await self._drain()
        finally:
            await self.api.close()

    async def _drain(self) -> None:
        api = self.api
        assert api is not None  # run() opened it
        loop = asyncio.get_running_loop()
        while self.enabled and (self.events or self.dirty):
            if self.dirty and (not self.events or loop.time() - self.patched_at >= COALESCE_SECONDS):
                self.patched_at = loop.time()
                await self._patch(api)
            else:
                await self._send_event(api)

    async def _send_event(self, api: PodApi) -> None:
        event = self.events[0]  # queued before the API client (which resolves the namespace) was open
        event["metadata"]["namespace"] = event["involvedObject"]["namespace"] = api.namespace
        if self.uid:  # the annotations go first, so it is known unless they never landed
            event["involvedObject"]["uid"] = self.uid
        failure = await self._send("event", lambda: api.create_event(event))
        if failure is None:
            self.sent["events"] += 1
        elif not self.enabled:
            return
        elif _may_pass(failure) and self.tries + 1 < ATTEMPTS:
            self.tries += 1
            return
        else:
            self._drop("event", failure, self.tries + 1)
        self.events.popleft()
        self.tries = 0

    async def _patch(self, api: PodApi) -> None:
        """The latest annotations, until they land (a record noted meanwhile sets `dirty` again)."""
        async def patch() -> None:
            uid = await api.patch_pod(pod_annotations(self.state))
            self.uid = self.uid or uid

        self.dirty = False
        failure = await self._send("annotations", patch)
        if failure is None:
            self.sent["patches"] += 1
        elif not self.enabled:
            return
        elif _may_pass(failure):
            self.dirty = True
        else:
            self._drop("annotations", failure, 1)

    def _drop(self, what: str, failure: ApiFailure, attempts: int) -> None:
        self.sent["dropped"] += 1
        if self.failures < FAILING_AFTER:  # else publish_failing said it for all
            self.log.warning("publish_dropped", what=what, error=str(failure), attempts=attempts)

    async def _send(self, what: str, call: Callable[[], Awaitable[None]]) -> ApiFailure | None:
        """One request: None when it landed, else why not.  A refusal turns publishing off; after a failure
        that may pass later, the server's Retry-After or the backoff (growing with the failures in a row)
        has been waited out."""
        try:
            await asyncio.wait_for(call(), self.timeout + 1.0)
        except TimeoutError:
            failure = ApiFailure(0, "timed out")
        except ApiFailure as exc:
            failure = exc
        else:
            if self.failures >= FAILING_AFTER:
                self.log.info("publish_resumed", what=what, failures=self.failures, dropped=self.sent["dropped"])
            self.failures = 0
            return None
        if failure.status in (401, 403, 404):
            self._disable(f"{what}: {failure} (no RBAC for the Pod's service account, or no such Pod)")
        elif _may_pass(failure):
            self.failures = self.failures + 1 if failure.status == self.failing else 1
            self.failing = failure.status
            if self.failures == FAILING_AFTER:
                self.log.warning("publish_failing", what=what, error=str(failure), failures=self.failures)
            backoff = min(BACKOFF_SECONDS[0] * 2 ** (self.failures - 1), BACKOFF_SECONDS[1])
            await self.wait_out(backoff if failure.retry_after is None else failure.retry_after)
        return failure

    async def flush(self, seconds: float) -> None:
        """At the end of the run: give queued Events and the last annotations `seconds` to go out."""
        if not self.enabled:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), seconds)
