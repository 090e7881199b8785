"""Learning from the file chain what happened while the supervisor could not hear it.

A wrapper that lost its supervisor falls back to Tekton's file chain and records its end in its post
file (contracts/records.py).  A restarted supervisor (or one whose wrapper went quiet) polls
the post file of the first unfinished step that has no live connection and records what it finds, so
no step is lost and none is started again.  A step whose wrapper hung up on this supervisor while it ran
is left to reconnect or be lost: a step may write its own post file while it still runs (it owns its step
directory), and believing it would start the next step beside it.
"""

from __future__ import annotations

import asyncio
import contextlib

from contracts.records import read_post, report_of
from supervisor.runner import Runner

__all__ = ["POLL_SECONDS", "reconcile", "sweep"]

POLL_SECONDS = 0.1


def sweep(runner: Runner, steps_dir: str) -> None:
    for step in runner.state.steps:
        if step.phase == "done":
            continue
        if step.phase == "held" or step.name in runner.steps or step.name in runner.dropped:
            return  # it will tell us itself (or be lost: a post file may be the step's own forgery)
        post = read_post(steps_dir, step.name)
        if post is None:
            return
        runner.finished_elsewhere(step.name, report_of(post))


async def reconcile(runner: Runner, steps_dir: str, period: float = POLL_SECONDS) -> None:
    while not runner.done.is_set():
        sweep(runner, steps_dir)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.done.wait(), period)
