"""Debug holds: breakpoints before a step and on failure, released by `doll ctl` or `entrypoint debug`."""

from __future__ import annotations

import subprocess

from contracts import exits
from supervisor_rig import PY, ROOT, Pod, wait_for


def _held(pod: Pod) -> dict | None:
    try:
        hold: dict | None = pod.status()["hold"]
    except AssertionError:
        return None
    return hold


def _finished(pod: Pod, name: str) -> dict:
    return next(r for r in pod.journal() if r["ev"] == "finished" and r["step"] == name)


def test_a_breakpoint_before_a_step_holds_it_until_doll_ctl_continue(pod: Pod) -> None:
    pod.plan(["a", {"name": "b", "breakpoint_before": True}, "c"])
    pod.supervise()
    wrappers = pod.steps({"a": "true", "b": "true", "c": "true"})
    hold = wait_for(lambda: _held(pod), what="the hold")
    assert hold["step"] == "b" and hold["reason"] == "beforeStep"
    assert pod.order() == ["a"]
    text = pod.ctl("status")
    assert text.returncode == 0 and "HELD: step b (beforeStep)" in text.stdout
    _, metrics = pod.http("/metrics")
    assert 'doll_step_held{reason="beforeStep",step="b"} 1.0' in metrics
    _, status = pod.http("/status")
    assert '"step": "b"' in status and '"beforeStep"' in status
    done = pod.ctl("continue", "b")
    assert done.returncode == 0, done.stderr
    assert pod.finish() == 0
    assert pod.order() == ["a", "b", "c"]
    assert [w.returncode for w in wrappers] == [0, 0, 0]
    released = {r["step"]: r["handoff"] for r in pod.journal() if r["ev"] == "released"}
    assert released["b"] is None  # the time b was held is no hand-off latency (doll_step_handoff_seconds)
    assert released["c"] is not None and released["c"] < 1.0


def test_a_held_failure_continued_counts_as_success_and_the_run_goes_on(pod: Pod) -> None:
    pod.plan(["a", "b"], breakpoint_on_failure=True)
    pod.supervise()
    wrappers = pod.steps({"a": "exit 3", "b": "true"})
    hold = wait_for(lambda: _held(pod), what="the hold")
    assert hold == {"step": "a", "reason": "onFailure", "since": hold["since"]}
    assert wrappers[0].poll() is None  # the failed step's container stays up while held
    assert pod.ctl("continue", "a").returncode == 0
    assert pod.finish() == 0
    assert pod.order() == ["a", "b"]
    a = _finished(pod, "a")
    assert a["outcome"] == "succeeded" and a["exit_code"] == 3
    assert wrappers[0].returncode == 0


def test_entrypoint_debug_fail_continue_in_the_held_step_fails_it_and_skips_the_rest(pod: Pod) -> None:
    pod.plan(["a", "b"], breakpoint_on_failure=True)
    pod.supervise()
    wrappers = pod.steps({"a": "exit 3", "b": "true"})
    wait_for(lambda: _held(pod), what="the hold")
    debug = subprocess.run([PY, "-m", "entrypoint", "debug", "fail-continue", "--name", "a", "--socket", pod.socket],
                           cwd=ROOT, env=pod.env, capture_output=True, text=True, timeout=20)
    assert debug.returncode == 0, debug.stderr
    assert pod.finish() == 1
    assert pod.order() == ["a"]
    assert _finished(pod, "a")["outcome"] == "failed"
    assert wrappers[1].returncode == exits.EXIT_SKIPPED


def test_a_hold_nobody_answers_times_out_and_fails_the_step(pod: Pod) -> None:
    pod.plan(["a", {"name": "b", "breakpoint_before": True}, "c"], hold_timeout_seconds=0.5)
    pod.supervise()
    wrappers = pod.steps({"a": "true", "b": "true", "c": "true"})
    assert pod.finish() == 1
    assert pod.order() == ["a"]
    b = _finished(pod, "b")
    assert b["outcome"] == "failed" and b["message"] == "hold timed out" and b["started_at"] is None
    assert wrappers[1].returncode != 0 and wrappers[2].returncode == exits.EXIT_SKIPPED
    unheld = next(r for r in pod.journal() if r["ev"] == "unheld")
    assert unheld["decision"] == "timeout"


def test_continuing_a_step_that_is_not_held_is_refused_with_a_reason(pod: Pod) -> None:
    pod.plan(["a", "b"])
    pod.supervise()
    pod.steps({"a": "sleep 30", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    done = pod.ctl("continue", "b")
    assert done.returncode == 1
    assert done.stderr.strip().startswith("step 'b' is not held")
    unknown = pod.ctl("fail", "zz")
    assert unknown.returncode == 1 and "'zz' is not in the plan" in unknown.stderr
    assert pod.ctl("cancel").returncode == 0
    assert pod.finish() == exits.EXIT_CANCELLED


def test_a_step_that_times_out_is_held_on_failure_as_in_file_mode(pod: Pod) -> None:
    pod.plan(["a", {"name": "b", "timeout_seconds": 0.5}, "c"], breakpoint_on_failure=True)
    pod.supervise()
    wrappers = pod.steps({"a": "true", "b": "sleep 30", "c": "true"})
    hold = wait_for(lambda: _held(pod), what="the hold")
    assert hold["step"] == "b" and hold["reason"] == "onFailure"
    assert pod.ctl("fail", "b").returncode == 0
    assert pod.finish() == 1
    assert pod.order() == ["a", "b"]
    assert [w.returncode for w in wrappers] == [0, exits.EXIT_TIMEOUT, exits.EXIT_SKIPPED]


def test_a_breakpoint_on_failure_holds_a_failed_step_even_with_on_error_continue(pod: Pod) -> None:
    """Tekton docs/debug.md "Breakpoint on Failure" and pkg/entrypoint/entrypointer.go, Entrypointer.Go: the
    `err != nil && e.BreakpointOnFailure` case comes before onError continue, so the step is held."""
    pod.plan([{"name": "a", "on_error": "continue"}, "b"], breakpoint_on_failure=True)
    pod.supervise()
    wrappers = pod.steps({"a": "exit 3", "b": "true"}, extra=("--on-error", "continue"))
    hold = wait_for(lambda: _held(pod), what="the hold")
    assert (hold["step"], hold["reason"]) == ("a", "onFailure") and pod.order() == ["a"]
    assert pod.ctl("fail", "a").returncode == 0
    assert pod.finish() == 0  # failed, and forgiven by onError continue once the person let it go
    assert pod.order() == ["a", "b"] and wrappers[0].returncode == 0
