"""A released step whose wrapper died before its hello, seen in the Pod's container statuses.

A wrapper killed before it says hello (SIGKILLed 0.29 s after its start, OOM-killed while it waits for its
turn) never connects, writes no post file and sends no `finished`: nothing the supervisor hears says it is
gone, and the run would wait for the task's timeout (an hour by default).  The kubelet says it in the Pod's
status.  So while a step is released and its wrapper was never heard, `StallWatch` GETs its own Pod (the
Role's `get` on this Pod) every `Timings.stall_poll_seconds`, doubling the wait after each failure up to
BACKOFF_LIMIT, and fails the step when its container has ended (`container_ended`) and it left no post file.
Nothing is requested while no step is in that state.  Without in-cluster credentials it does nothing (one
info line: publishing warns of them); a refusal (401, 403, 404: no RBAC) gives one `stall_watch_disabled` warning and it stops (the run behaves
as without it); other failures one `stall_watch_failing` warning per streak.

What "ended" means, in the kubelet's words (pkg/kubelet/kubelet_pods.go convertToAPIContainerStatuses,
pkg/kubelet/kuberuntime): `state.terminated` (the container ran and exited), or `state.waiting` with a
reason of a container that is restarted (`CrashLoopBackOff`: kuberuntime_manager.go doBackOff; `Error`,
`RunContainerError`) and a `lastState.terminated`: it ran.  A step container is never restarted (Tekton's
Pods are restartPolicy Never), so that is only belt and braces.  Left alone: `waiting` with
`ContainerCreating` (the kubelet's default waiting reason, the image being pulled), `PodInitializing`
(init containers still running), `ErrImagePull` / `ImagePullBackOff` (pkg/kubelet/images): a slow or failing
pull is the kubelet's to retry and the controller's to judge; Tekton fails such a TaskRun itself, in its
reconciler (pkg/reconciler/taskrun/taskrun.go checkPodFailed, after config-defaults'
`default-imagepullbackoff-timeout`, reason ImagePullFailed), not its entrypoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from contracts.journal import StepReport
from contracts.records import read_post
from supervisor.kube_api import ApiFailure, PodApi
from supervisor.logs import Log
from supervisor.runner import Runner

__all__ = ["BACKOFF_LIMIT", "container_ended", "RESTARTED_REASONS", "StallWatch"]

BACKOFF_LIMIT = 30.0  # seconds: the longest wait between two GETs while they fail
RESTARTED_REASONS = ("CrashLoopBackOff", "Error", "RunContainerError")  # waiting, after having run


def container_ended(status: dict[str, Any] | None) -> tuple[int | None, str] | None:
    """(exit code, why) when a container status says the container ran and ended; None otherwise."""
    if not isinstance(status, dict):
        return None
    state = status.get("state") or {}
    ended = state.get("terminated")
    if not isinstance(ended, dict):
        waiting, last = state.get("waiting"), (status.get("lastState") or {}).get("terminated")
        if not (isinstance(waiting, dict) and waiting.get("reason") in RESTARTED_REASONS and isinstance(last, dict)):
            return None
        ended = last
    code = ended.get("exitCode")
    code = code if isinstance(code, int) else None
    why = f"its container terminated with exit code {code} ({ended.get('reason') or 'Error'})"
    return code, why


class StallWatch:
    def __init__(self, runner: Runner, open_api: Callable[[], Awaitable[PodApi]], log: Log, period: float,
                 timeout: float) -> None:
        self.runner, self.open_api, self.log, self.period, self.timeout = runner, open_api, log, period, timeout
        self.failures = 0  # GETs failed in a row
        self.failed: list[str] = []  # the steps it failed
        self.containers = {s.name: s.container for s in runner.plan.steps}

    def unheard(self) -> dict[str, str]:
        """step -> container: released, and its wrapper never said hello."""
        return {s.name: self.containers[s.name] for s in self.runner.state.steps
                if s.phase == "released" and s.announced_at is None and s.name not in self.runner.steps}

    async def run(self) -> None:
        try:
            api = await self.open_api()
        except ApiFailure as exc:  # unusable credentials: publishing's warning has said it
            self.log.info("stall_watch_disabled", why=str(exc))
            return
        try:
            while not self.runner.done.is_set():
                await asyncio.sleep(min(self.period * 2 ** self.failures, BACKOFF_LIMIT))
                if self.unheard() and not await self._look(api):
                    return
        finally:
            await api.close()

    async def _look(self, api: PodApi) -> bool:
        """One GET of the Pod, and its verdicts; False once the API refused (no RBAC)."""
        try:
            pod = await asyncio.wait_for(api.get_pod(), self.timeout + 1.0)
        except (ApiFailure, TimeoutError) as exc:
            status = exc.status if isinstance(exc, ApiFailure) else 0
            if status in (401, 403, 404):
                self.log.warning("stall_watch_disabled", why=f"{exc} (no RBAC to get the Pod, or no such Pod)")
                return False
            if self.failures == 0:
                self.log.warning("stall_watch_failing", error=str(exc) or "timed out")
            self.failures += 1
            return True
        self.failures = 0
        self.judge(pod)
        return True

    def judge(self, pod: dict[str, Any]) -> None:
        """Fail each unheard step whose container ended without a post file."""
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        by_name = {s.get("name"): s for s in statuses if isinstance(s, dict)}
        for name, container in self.unheard().items():
            ended = container_ended(by_name.get(container))
            if ended is None or read_post(self.runner.plan.steps_dir, name) is not None:
                continue
            code, why = ended
            self.failed.append(name)
            self.log.warning("step_container_ended", step=name, container=container, exit_code=code)
            self.runner.finished_elsewhere(name, StepReport(
                reason="Error", exit_code=code, started_at=None, message=f"{why} before its wrapper said hello"),
                source="lost")
