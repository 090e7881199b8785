"""The outcome rule (contracts/outcome.py), which the wrapper, the supervisor and a replayed journal share."""

from __future__ import annotations

from contracts.outcome import failure_message, fails_run, judge


def test_on_error_continue_does_not_forgive_a_step_that_ran_out_of_time() -> None:
    """Tekton pkg/entrypoint/entrypointer.go, Entrypointer.Go: only an *exec.ExitError is forgiven by
    `onError: continue`; a step timeout is ErrContextDeadlineExceeded, so the post file is `.err`, the
    container exits 1 and pkg/pod/status.go DidTaskRunFail fails the TaskRun."""
    for reason, code, stopping in (("TimeoutExceeded", 124, ""), ("Error", 143, "TimeoutExceeded")):
        judged = judge(reason, code, "continue", stopping)
        assert (judged.outcome, judged.reason, judged.tolerated) == ("timed_out", "TimeoutExceeded", False)
        assert judged.fails_run and judged.cascades(code) and judged.wrapper_exit_code(code) == code


def test_on_error_continue_forgives_a_non_zero_exit_which_then_reads_completed_with_its_own_exit_code() -> None:
    """Tekton pkg/entrypoint/entrypointer.go: with onError continue and an ExitError the entrypoint writes the
    step's exit code (ExitCode in the termination message) and exits 0, so the container's reason is the
    kubelet's Completed (docs/tasks.md "Specifying onError for a step")."""
    judged = judge("Error", 5, "continue")
    assert (judged.outcome, judged.reason, judged.tolerated) == ("failed", "Completed", True)
    assert not judged.fails_run and not judged.cascades(5) and judged.wrapper_exit_code(5) == 0


def test_a_replayed_timed_out_step_with_on_error_continue_still_fails_the_run() -> None:
    """The journal's `finished` record, replayed: the same rule as live (Entrypointer.Go, as above)."""
    assert fails_run("timed_out", "continue", "TimeoutExceeded")
    assert not fails_run("failed", "continue", "Completed")  # forgiven: recorded Completed
    assert fails_run("failed", "stopAndFail", "Error") and fails_run("failed", "continue", "Error")  # lost


def test_a_breakpoint_on_failure_holds_a_failure_that_on_error_continue_forgives_but_never_a_cancel() -> None:
    """Tekton pkg/entrypoint/entrypointer.go, Entrypointer.Go checks `err != nil && e.BreakpointOnFailure`
    before `e.OnError == ContinueOnError` (docs/debug.md "Breakpoint on Failure"): the breakpoint wins."""
    assert judge("Error", 3, "continue").breaks and judge("TimeoutExceeded", 124, "continue").breaks
    assert not judge("Error", 143, "continue", "Cancelled", run_cancelled=True).breaks
    assert not judge("Completed", 0, "continue").breaks


def test_a_failed_step_is_named_in_the_run_s_message_as_tekton_does() -> None:
    """Tekton pkg/pod/status.go, extractContainerFailureMessage: `"step-x" exited with code N`, or
    `"step-x" exited because the step exceeded the specified timeout limit`."""
    assert failure_message("step-build", "failed", "Error", 2) == '"step-build" exited with code 2'
    assert failure_message("step-build", "timed_out", "TimeoutExceeded", 124) == \
        '"step-build" exited because the step exceeded the specified timeout limit'
