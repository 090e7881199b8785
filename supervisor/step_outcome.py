"""The outcome rule: how a step that ended counts, from why it ended and what the supervisor asked of it.

(To move to contracts/outcome.py.)
"""

from __future__ import annotations

from contracts.journal import StepOutcome

__all__ = ["step_outcome"]


def step_outcome(stopping: str, cancel_reason: str, reason: str, exit_code: int | None) -> tuple[StepOutcome, str]:
    """(outcome, Tekton's reason) of a step that ended with `reason` and `exit_code`; `stopping` is why the
    supervisor asked it to stop ("" if it did not), `cancel_reason` why the run is winding down ("" if not)."""
    if stopping == "TimeoutExceeded" or reason == "TimeoutExceeded":
        return "timed_out", "TimeoutExceeded"
    if stopping or reason == "Cancelled":
        return ("cancelled", "Cancelled") if cancel_reason else ("failed", "Cancelled")
    if reason == "Skipped":
        return "skipped", "Skipped"
    if exit_code == 0:
        return "succeeded", "Completed"
    return "failed", "Error"
