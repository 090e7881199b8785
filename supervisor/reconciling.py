"""Learning from the file chain what happened while the supervisor could not hear it.

A wrapper that lost its supervisor falls back to Tekton's file chain and records its end in its post
file, `<steps_dir>/step-<name>/out` (or `out.err`), a JSON object {exit_code, reason, started_at,
finished_at, results, message, failed}.  A restarted supervisor (or one whose wrapper went quiet) polls
the post file of the first unfinished step that has no live connection and records what it finds, so
no step is lost and none is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from typing import Any

from supervisor.ordering import Runner

POLL_SECONDS = 0.1


def read_post(steps_dir: str, name: str) -> dict[str, Any] | None:
    """The step's recorded end, or None if it has not ended (as far as the files say)."""
    base = os.path.join(steps_dir, f"step-{name}", "out")
    for path, failed in ((base, False), (base + ".err", True)):
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            continue
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if not isinstance(data.get("exit_code"), int):
            data["exit_code"] = _exit_code(os.path.dirname(base), failed)
        data.setdefault("reason", "Error" if failed else "Completed")
        return data
    return None


def _exit_code(step_dir: str, failed: bool) -> int:
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(step_dir, "exitCode")) as f:
            return int(f.read().strip())
    return 1 if failed else 0


def sweep(runner: Runner, steps_dir: str) -> None:
    for step in runner.state.steps:
        if step.phase == "done":
            continue
        if step.phase == "held" or step.name in runner.steps:
            return  # it will tell us itself
        post = read_post(steps_dir, step.name)
        if post is None:
            return
        runner.finished_elsewhere(step.name, post)


async def reconcile(runner: Runner, steps_dir: str, period: float = POLL_SECONDS) -> None:
    while not runner.done.is_set():
        sweep(runner, steps_dir)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(runner.done.wait(), period)
