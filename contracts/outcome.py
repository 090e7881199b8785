"""The outcome rule, defined once: how a step ended (outcome and Tekton's reason), and what that means.

The wrapper judges its own end (the exit code it returns, whether its failure cascades to `out.err`), the
supervisor judges what a wrapper reports (and what a post file says), and the run's state applies the same
rule when it replays its journal.  Standard library only: the wrapper imports this module.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds
    from dataclasses import dataclass
    from typing import Literal

    StepOutcome = Literal["succeeded", "failed", "skipped", "cancelled", "timed_out"]
else:
    from contracts.freezing import dataclass

__all__ = ["Judgement", "judge", "fails_run", "failure_message", "STEP_OUTCOMES"]

STEP_OUTCOMES: tuple[str, ...] = ("succeeded", "failed", "skipped", "cancelled", "timed_out")
_FAILURES = ("failed", "timed_out")


@dataclass(frozen=True)
class Judgement:
    """How a step ended: its outcome, Tekton's reason, and whether `onError: continue` tolerates it."""

    outcome: StepOutcome
    reason: str  # Completed, Error, Skipped, TimeoutExceeded, Cancelled
    tolerated: bool  # a failure that onError: continue lets the run go on from (its reason is then Completed)

    @property
    def fails_run(self) -> bool:
        """The rest of the steps are skipped and the task fails."""
        return self.outcome in _FAILURES and not self.tolerated

    @property
    def breaks(self) -> bool:
        """A breakpoint onFailure holds the step: any failure of its own, tolerated or not, its deadline
        included (Tekton's Entrypointer.Go tests BreakpointOnFailure before OnError), never a cancel."""
        return self.outcome in _FAILURES and self.reason != "Cancelled"

    def cascades(self, exit_code: int) -> bool:
        """The step's post file is `out.err`: in the file chain the next steps are skipped."""
        return exit_code != 0 and not self.tolerated

    def wrapper_exit_code(self, exit_code: int) -> int:
        """What the step's container exits with: a tolerated failure exits 0, as Tekton's entrypoint does."""
        return 0 if self.tolerated else exit_code


def judge(reason: str, exit_code: int | None, on_error: str = "stopAndFail", stopping: str = "",
          run_cancelled: bool = False) -> Judgement:
    """The outcome of a step that ended with `reason` and `exit_code`.

    `stopping`: why the supervisor asked its wrapper to stop, if it did (TimeoutExceeded, Cancelled...);
    `run_cancelled`: the run itself is being cancelled (a stopped step is then cancelled, not failed).
    """
    outcome: StepOutcome
    if stopping == "TimeoutExceeded" or reason == "TimeoutExceeded":
        outcome, reason = "timed_out", "TimeoutExceeded"
    elif stopping or reason == "Cancelled":
        outcome, reason = ("cancelled" if run_cancelled else "failed"), "Cancelled"
    elif reason == "Skipped":
        outcome = "skipped"
    elif exit_code == 0:
        outcome, reason = "succeeded", "Completed"
    else:
        outcome, reason = "failed", "Error"
    # onError: continue forgives a step's own non-zero exit only, never its deadline nor a cancel: Tekton's
    # entrypoint (pkg/entrypoint/entrypointer.go, Entrypointer.Go) forgives only an *exec.ExitError; a timeout is
    # ErrContextDeadlineExceeded, written as `out.err`, and the container exits 1.  The forgiven step's container
    # terminates with 0, so the kubelet's reason is Completed (its exit code stays the step's own).
    tolerated = on_error == "continue" and outcome == "failed" and reason == "Error"
    return Judgement(outcome, "Completed" if tolerated else reason, tolerated)


def fails_run(outcome: str, on_error: str, reason: str) -> bool:
    """Whether a step recorded with `outcome` and `reason` fails the run (a replayed journal's `finished`): a
    failure onError: continue forgave was recorded with reason Completed."""
    return outcome in _FAILURES and not (on_error == "continue" and outcome == "failed" and reason == "Completed")


def failure_message(container: str, outcome: str, reason: str, exit_code: int | None) -> str:
    """The TaskRun's message for a step that failed it (Tekton's pkg/pod/status.go,
    extractContainerFailureMessage): `"step-x" exited with code N`, or its timeout."""
    if outcome == "timed_out":
        return f'"{container}" exited because the step exceeded the specified timeout limit'
    return f'"{container}" exited with code {exit_code if exit_code is not None else 1}'
