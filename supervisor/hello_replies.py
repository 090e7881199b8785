"""What a step's wrapper hears when it says hello (again): read from the run's state, so a step is never
started twice, whichever supervisor (a restarted one) answers."""

from __future__ import annotations

from contracts.wire import Ack, Hold, Message, Skip, Start, Stop
from supervisor.states import StepState

__all__ = ["hello_replies"]


def hello_replies(step: StepState, cancelling: bool, stop_grace: float) -> list[Message]:
    """The messages to send, in order, to the wrapper of `step` that said hello; `cancelling`: the run is
    winding down."""
    if step.phase == "done":
        if step.outcome == "skipped":
            return [Skip(reason=step.message, cancelled=cancelling)]
        if step.started_at is None and step.outcome != "succeeded":  # failed before it ran (at a breakpoint,
            return [Ack(verdict="failed")]  # or lost on the way): it must not run now
        return [Ack()]
    if step.phase == "held":
        return [Hold(reason=step.hold_reason)]
    if step.phase in ("released", "running"):
        if step.stopping:
            return [Start(), Stop(reason=step.stopping, grace_seconds=stop_grace)]
        return [Start()]
    return []
