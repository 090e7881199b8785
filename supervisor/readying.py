"""Sidecar readiness: one task per sidecar probes it until ready, or fails the task at its deadline.

Probing starts `initial_delay_seconds` after the run began and repeats every `period_seconds` (doll's
default is 50 ms, not kubelet's 10 s); `success_threshold` consecutive successes make it ready, which
releases step 0 at once if it was the last.  Afterwards it is watched at a relaxed pace (at most once a
second): `failure_threshold` consecutive failures mark it unready (shown in /status and metrics, logged;
like kubelet's readiness it does not fail the task).  A sidecar that exits is stopped, and counts as ready
(`sidecar_tracking.Sidecars._exited`, as Tekton's SidecarsReady): it is no longer probed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from supervisor.sidecar_tracking import Sidecars
from contracts.plans import SidecarPlan
from supervisor.probes import Prober

__all__ = ["watch", "WATCH_PERIOD"]

WATCH_PERIOD = 1.0


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), max(0.0, seconds))
    return event.is_set()


async def watch(sidecars: Sidecars, done: asyncio.Event, plan: SidecarPlan, prober: Prober,
                clock: Callable[[], float] = time.time) -> None:
    """Probe one sidecar until ready (or its deadline), then keep an eye on it until `done`."""
    state = sidecars.state
    car = state.sidecar(plan.name)
    assert car is not None
    started = state.started_at or clock()
    deadline = started + plan.ready_timeout_seconds
    spec = plan.probe
    if car.ready_at is None:
        if spec is None:
            if not await _wait(sidecars.hello[plan.name], deadline - clock()):
                sidecars.failed(plan.name, f"sidecar {plan.name} never started within "
                                                 f"{plan.ready_timeout_seconds}s")
            else:
                sidecars.ready(plan.name)
            return
        if await _wait(done, started + spec.initial_delay_seconds - clock()):
            return
        successes, last = 0, "not probed yet"
        while not state.finished and car.phase not in ("failed", "stopped"):
            result = await prober.probe(plan.name, spec)
            successes, last = (successes + 1, last) if result.ok else (0, result.output)
            if successes >= spec.success_threshold:
                sidecars.ready(plan.name)
                break
            if clock() >= deadline:
                sidecars.failed(plan.name, f"sidecar {plan.name} not ready within "
                                                 f"{plan.ready_timeout_seconds}s: {last}")
                return
            if await _wait(done, min(spec.period_seconds, deadline - clock())):
                return
    if spec is None:
        return
    failures, period = 0, max(spec.period_seconds, WATCH_PERIOD)
    while not await _wait(done, period) and car.phase != "stopped":
        result = await prober.probe(plan.name, spec)
        failures = 0 if result.ok else failures + 1
        if result.ok:
            sidecars.ready(plan.name)
        elif failures >= spec.failure_threshold:
            sidecars.unready(plan.name, result.output)
