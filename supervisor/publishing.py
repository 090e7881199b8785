"""Pod annotations and Kubernetes Events through the API server, best effort.

`Publisher` turns journal records into Events (step started / finished / failed / held, task ended) and
keeps the Pod's `doll.dev/*` annotations up to date (JSON merge patches, coalesced).  It never blocks the
run: records are queued and each request is bounded.  A request that may pass later (409, 429, 5xx, not
delivered) is tried again after a wait that doubles with each try (0.1 s up to 2 s), or the answer's
Retry-After (at most requesting.RETRY_AFTER_LIMIT): an Event a few times,
then dropped with a warning; the annotations until they land, since they are the Pod's state (the latest
state is sent each time; one warning when they keep failing).  403 (no RBAC) or 404 (no such
Pod) turns publishing off with one warning.

The requests go through a `requesting.PodApi`: aiohttp's client by default, or kubernetes-asyncio
(`doll supervise --kube-client`), opened only when the Pod has in-cluster credentials (KUBERNETES_SERVICE_HOST
and a service account token).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from supervisor import requesting
from supervisor.logs import Log
from supervisor.plans import Plan
from supervisor.requesting import ApiFailure, PodApi
from supervisor.states import Record, RunState

REQUEST_TIMEOUT = requesting.REQUEST_TIMEOUT
ATTEMPTS = 3  # tries of one Event; the annotations are tried until they land
BACKOFF_SECONDS = (0.1, 2.0)  # the wait after a first failed try, doubled after each next one up to the second
COALESCE_SECONDS = 0.2
PREFIX = "doll.dev/"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_for(rec: Record) -> tuple[str, str, str] | None:
    """(type, reason, message) of the Event a record deserves, if any."""
    ev = rec["ev"]
    if ev == "started":
        return "Normal", "StepStarted", f"step {rec['step']} started"
    if ev == "finished":
        if rec["outcome"] == "succeeded":
            return "Normal", "StepFinished", f"step {rec['step']} succeeded"
        return "Warning", "StepFailed", (f"step {rec['step']} {rec['outcome']}: exit code {rec.get('exit_code')}"
                                         f" ({rec['reason']}) {rec.get('message', '')}".strip())
    if ev == "held":
        return "Warning", "StepHeld", (f"step {rec['step']} held ({rec['reason']}): "
                                       f"doll ctl continue {rec['step']} | fail {rec['step']}")
    if ev == "sidecar_failed":
        return "Warning", "SidecarFailed", rec.get("reason", "")
    if ev == "run_finished":
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
    }


def _may_pass(failure: ApiFailure) -> bool:
    """A conflict, throttling, the server's own error, or not delivered: worth trying again."""
    return failure.status in (0, 409, 429) or failure.status >= 500


class Publisher:
    def __init__(self, plan: Plan, pod: str, state: RunState, log: Log, api: PodApi | None = None,
                 environ: dict[str, str] | None = None, timeout: float = REQUEST_TIMEOUT,
                 client: str = requesting.KUBE_CLIENTS[0]) -> None:
        self.plan, self.pod, self.state, self.log, self.timeout = plan, pod, state, log, timeout
        self.api = api
        self.client = client  # which PodApi to open when `api` is None: one of requesting.KUBE_CLIENTS
        self.environ = dict(os.environ) if environ is None else environ
        self.events: deque[dict[str, Any]] = deque()
        self.wake = asyncio.Event()
        self.idle = asyncio.Event()
        self.dirty = False  # the annotations have changed since they last landed
        self.enabled = True
        self.tries = 0  # failed tries of the first queued Event
        self.patch_tries = 0  # failed tries of the annotations since they last landed
        self.sent = {"events": 0, "patches": 0, "dropped": 0}

    def notify(self, rec: Record) -> None:
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
        """The Event's body; its namespace is the API client's, filled in when it is sent (see `_drain`)."""
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
                self.api = await requesting.open_pod_api(self.client, self.pod, self.plan.pod.namespace,
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
        while self.enabled and (self.events or self.dirty):
            if self.events:
                await self._send_event(api)
            else:
                await self._patch(api)

    async def _send_event(self, api: PodApi) -> None:
        event = self.events[0]  # queued before the API client (which resolves the namespace) was open
        event["metadata"]["namespace"] = event["involvedObject"]["namespace"] = api.namespace
        failure = await self._send("event", lambda: api.create_event(event))
        if failure is None:
            self.sent["events"] += 1
        elif not self.enabled:
            return
        elif _may_pass(failure) and self.tries + 1 < ATTEMPTS:
            self.tries += 1
            await self._back_off(self.tries, failure)
            return
        else:
            self._drop("event", failure, self.tries + 1)
        self.events.popleft()
        self.tries = 0

    async def _patch(self, api: PodApi) -> None:
        """The latest annotations, until they land (a record noted meanwhile sets `dirty` again)."""
        self.dirty = False
        failure = await self._send("annotations", lambda: api.patch_pod(pod_annotations(self.state)))
        if failure is None:
            self.sent["patches"] += 1
            self.patch_tries = 0
        elif not self.enabled:
            return
        elif not _may_pass(failure):
            self._drop("annotations", failure, self.patch_tries + 1)
            self.patch_tries = 0
        else:
            self.dirty = True
            self.patch_tries += 1
            if self.patch_tries == ATTEMPTS:  # one warning; they are still sent until they land
                self.log.warning("publish_failing", what="annotations", error=str(failure), attempts=ATTEMPTS)
            await self._back_off(self.patch_tries, failure)

    def _drop(self, what: str, failure: ApiFailure, attempts: int) -> None:
        self.sent["dropped"] += 1
        self.log.warning("publish_dropped", what=what, error=str(failure), attempts=attempts)

    @staticmethod
    async def _back_off(tries: int, failure: ApiFailure) -> None:
        """The server's Retry-After when it gave one (a 429 from kube-apiserver says 1 s), else the backoff."""
        wait = failure.retry_after
        await asyncio.sleep(min(BACKOFF_SECONDS[0] * 2 ** (tries - 1), BACKOFF_SECONDS[1]) if wait is None else wait)

    async def _send(self, what: str, call: Callable[[], Awaitable[None]]) -> ApiFailure | None:
        """One request: None when it landed, else why not (a refusal turns publishing off)."""
        try:
            await asyncio.wait_for(call(), self.timeout + 1.0)
        except TimeoutError:
            failure = ApiFailure(0, "timed out")
        except ApiFailure as exc:
            failure = exc
        else:
            return None
        if failure.status in (401, 403, 404):
            self._disable(f"{what}: {failure} (no RBAC for the Pod's service account, or no such Pod)")
        return failure

    async def flush(self, seconds: float) -> None:
        """At the end of the run: give queued Events and the last annotations `seconds` to go out."""
        if not self.enabled:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), seconds)
