"""Answering `doll ctl` (and `entrypoint debug`) on the control socket: status, cancel, continue, fail."""

from __future__ import annotations

from typing import Protocol

from contracts.wire import Ctl, Reply
from supervisor.states import RunState

__all__ = ["Controllable", "answer"]


class Controllable(Protocol):
    """What a request can act on (the Runner)."""

    state: RunState

    def cancel(self, reason: str, message: str = "") -> bool: ...

    def end_hold(self, name: str, decision: str, advance: bool = True) -> None: ...


def answer(run: Controllable, ctl: Ctl) -> Reply:
    action = "fail" if ctl.action == "fail-continue" else ctl.action
    if action == "status":
        return Reply(ok=True, status=run.state.to_status())
    if action == "cancel":
        if run.cancel("Cancelled", "cancelled through doll ctl"):
            return Reply(ok=True, message="cancelling the run")
        return Reply(ok=False, message=f"the run is already {run.state.outcome or 'winding down'}")
    if action in ("continue", "fail"):
        return _decide(run, ctl.step, action)
    return Reply(ok=False, message=f"action: unknown {ctl.action!r}")


def _decide(run: Controllable, name: str, action: str) -> Reply:
    held = [s.name for s in run.state.steps if s.phase == "held"]
    if not name and len(held) > 1:  # branches of a pipeline each hold one: say which
        return Reply(ok=False, message=f"{len(held)} steps are held ({', '.join(held)}): name one")
    step = run.state.step(name) if name else run.state.current_hold()
    if step is None:
        return Reply(ok=False, message=f"step {name!r} is not in the plan" if name else "no step is held")
    if step.phase != "held":
        return Reply(ok=False, message=f"step {step.name!r} is not held (it is {step.phase})")
    run.end_hold(step.name, action)
    return Reply(ok=True, message=f"step {step.name!r}: {action}")
