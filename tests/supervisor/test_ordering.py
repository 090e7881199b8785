"""Ordering, failure cascade, timeouts and cancellation: a real supervisor with real wrapper processes."""

from __future__ import annotations

import os
import selectors
import signal
import time

from entrypoint import connecting
from contracts import exits, wire
from supervisor import timings
from supervisor_rig import Pod, wait_for


def _finished(pod: Pod) -> dict[str, dict]:
    return {r["step"]: r for r in pod.journal() if r["ev"] == "finished"}


def test_steps_run_one_after_another_in_plan_order(pod: Pod) -> None:
    pod.plan(["a", "b", "c"])
    pod.supervise()
    wrappers = pod.steps({"a": "sleep 0.2", "b": "sleep 0.1", "c": "true"})
    assert pod.finish() == 0
    assert [w.returncode for w in wrappers] == [0, 0, 0]
    assert pod.order() == ["a", "b", "c"]
    done = _finished(pod)
    assert done["b"]["started_at"] >= done["a"]["finished_at"]
    assert done["c"]["started_at"] >= done["b"]["finished_at"]
    released = [r["step"] for r in pod.journal() if r["ev"] == "released"]
    assert released == ["a", "b", "c"]
    assert pod.outcome() == "Succeeded"


def test_a_step_announced_early_waits_until_the_previous_one_exits(pod: Pod) -> None:
    pod.plan(["a", "b"])
    pod.supervise()
    pod.step("b", 1, prev="a")  # b's wrapper is up first
    pod.wait_socket()
    wait_for(lambda: any(r["ev"] == "announced" for r in pod.journal()), what="b's hello")
    pod.step("a", 0, "sleep 0.3")
    assert pod.finish() == 0
    assert pod.order() == ["a", "b"]
    journal = pod.journal()
    b_released = next(r for r in journal if r["ev"] == "released" and r["step"] == "b")
    assert b_released["at"] >= _finished(pod)["a"]["finished_at"]


def test_a_failed_step_skips_the_rest_with_reason_skipped_and_no_start_time(pod: Pod) -> None:
    pod.plan(["a", "b", "c"])
    pod.supervise()
    wrappers = pod.steps({"a": "true", "b": "exit 3", "c": "true"})
    assert pod.finish() == 1
    assert pod.order() == ["a", "b"]
    assert [w.returncode for w in wrappers] == [0, 3, exits.EXIT_SKIPPED]
    done = _finished(pod)
    assert done["b"]["outcome"] == "failed" and done["b"]["exit_code"] == 3
    skipped = next(r for r in pod.journal() if r["ev"] == "skipped")
    assert skipped["step"] == "c"
    assert pod.outcome() == "Failed"


def test_on_error_continue_lets_the_run_go_on_and_succeed(pod: Pod) -> None:
    pod.plan([{"name": "a", "on_error": "continue"}, "b"])
    pod.supervise()
    pod.step("a", 0, "exit 5", extra=("--on-error", "continue"))
    pod.step("b", 1, prev="a")
    assert pod.finish() == 0
    assert pod.order() == ["a", "b"]
    assert _finished(pod)["a"]["exit_code"] == 5
    assert pod.outcome() == "Succeeded"


def test_a_step_over_its_timeout_is_stopped_and_the_rest_skipped(pod: Pod) -> None:
    pod.plan([{"name": "a", "timeout_seconds": 0.5}, "b"])
    pod.supervise()
    pod.steps({"a": "sleep 30", "b": "true"})
    assert pod.finish(timeout=20) == 1
    a = _finished(pod)["a"]
    assert a["outcome"] == "timed_out" and a["reason"] == "TimeoutExceeded"
    assert a["exit_code"] == exits.EXIT_TIMEOUT  # the wrapper's too: the supervisor's clock said so
    assert a["finished_at"] - a["started_at"] < 15  # stopped, not its 30 s
    assert pod.order() == ["a"]


def test_the_task_timeout_stops_the_running_step_and_exits_124(pod: Pod) -> None:
    pod.plan(["a", "b"], timeout_seconds=0.8)
    pod.supervise()
    pod.steps({"a": "sleep 30", "b": "true"})
    assert pod.finish(timeout=20) == exits.EXIT_TIMEOUT
    assert (_finished(pod)["a"]["reason"], _finished(pod)["a"]["exit_code"]) == ("TimeoutExceeded", 124)
    assert pod.outcome() == "TimedOut"
    assert pod.order() == ["a"]


def test_sigterm_cancels_the_running_step_and_skips_the_rest(pod: Pod) -> None:
    pod.plan(["a", "b", "c"])
    sup = pod.supervise()
    wrappers = pod.steps({"a": "true", "b": "sleep 30", "c": "true"})
    wait_for(lambda: pod.order() == ["a", "b"], what="b to start")
    sup.send_signal(signal.SIGTERM)
    assert pod.finish(timeout=20) == exits.EXIT_CANCELLED
    assert _finished(pod)["b"]["outcome"] == "cancelled"
    assert wrappers[2].returncode == exits.EXIT_CANCELLED  # skipped because of the cancel
    skipped = [r for r in pod.journal() if r["ev"] == "skipped"]
    assert [r["step"] for r in skipped] == ["c"] and skipped[0]["cancelled"]
    assert pod.outcome() == "Cancelled"


def test_doll_ctl_cancel_stops_the_run(pod: Pod) -> None:
    pod.plan(["a", "b"])
    pod.supervise()
    pod.steps({"a": "sleep 30", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    done = pod.ctl("cancel")
    assert done.returncode == 0, done.stderr
    assert pod.finish(timeout=20) == exits.EXIT_CANCELLED
    assert pod.order() == ["a"]
    assert pod.ctl("cancel").returncode != 0  # nobody there any more, or already cancelled


def test_a_cancel_before_any_wrapper_connected_skips_everything_and_ends(pod: Pod) -> None:
    pod.plan(["a", "b"])
    pod.supervise()
    pod.wait_socket()
    wait_for(lambda: any(r["ev"] == "released" for r in pod.journal()), what="a's release")
    assert pod.ctl("cancel").returncode == 0
    assert pod.finish(timeout=20) == exits.EXIT_CANCELLED
    assert [(r["step"], r["cancelled"]) for r in pod.journal() if r["ev"] == "skipped"] == [("a", True), ("b", True)]
    assert pod.order() == []


def test_a_step_whose_wrapper_dies_without_reporting_fails_and_the_rest_are_skipped(pod: Pod) -> None:
    """As when a step's container is OOM-killed: the run goes on within seconds, not at the task timeout."""
    pod.plan(["a", "b"], timeout_seconds=600)
    pod.supervise(timings={"lost_seconds": 0.5})  # LOST_SECONDS (5 s) in production
    a, b = pod.steps({"a": "sleep 60", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    # and the supervisor heard so: on a busy machine the child can run before its wrapper's `started` is sent
    wait_for(lambda: any(r["ev"] == "started" and r["step"] == "a" for r in pod.journal()), what="a's started")
    with open(f"/proc/{a.pid}/task/{a.pid}/children") as f:
        children = [int(pid) for pid in f.read().split()]
    a.kill()  # the wrapper dies with its container, with no chance to report (killed first: a wrapper that
    a.wait(5)  # outlives its child by a millisecond reports its exit, as it should)
    for child in children:  # ...and so does the step's process group
        os.killpg(child, signal.SIGKILL)
    assert pod.finish(timeout=30) == 1
    done = _finished(pod)
    assert done["a"]["outcome"] == "failed" and done["a"]["source"] == "lost"
    assert "went away" in done["a"]["message"] and done["a"]["started_at"] is not None
    assert [r["step"] for r in pod.journal() if r["ev"] == "skipped"] == ["b"] and pod.order() == ["a"]


def _wrapper(pod: Pod, name: str, index: int) -> connecting.Channel:
    """A step's wrapper played over the real socket, with the wrapper's own Channel: connected, hello said."""
    channel = connecting.connect(pod.socket, 5.0, 0.0)
    assert channel is not None and channel.send(wire.Hello(kind="step", name=name, index=index, pid=os.getpid()))
    return channel


def test_a_hand_off_starts_the_next_step_first_and_acks_the_finished_one_after_a_quiet_window(pod: Pod) -> None:
    """Two wrappers played over the real socket: the finished step's ack waits out the quiet window, so its
    wrapper's exit does not compete with the next child's exec; it is still delivered, after the start."""
    pod.plan(["a", "b"])
    pod.supervise()
    pod.wait_socket()
    a, b = _wrapper(pod, "a", 0), _wrapper(pod, "b", 1)
    try:
        assert isinstance(a.receive(timeout=10), wire.Start)
        now = time.time()
        a.send(wire.Started(name="a", started_at=now))
        sent = time.monotonic()
        a.send(wire.Finished(name="a", exit_code=0, reason="Completed", started_at=now, finished_at=time.time()))
        arrivals: list[tuple[str, type]] = []
        with selectors.DefaultSelector() as sel:
            sel.register(a, selectors.EVENT_READ, "a")
            sel.register(b, selectors.EVENT_READ, "b")
            while len(arrivals) < 2:
                ready = sel.select(10)
                assert ready, f"only {arrivals} within 10 s"
                for key, _ in ready:
                    channel = a if key.data == "a" else b
                    arrivals.append((key.data, type(channel.receive(timeout=10))))
                    sel.unregister(channel)
        acked = time.monotonic()
        assert arrivals == [("b", wire.Start), ("a", wire.Ack)]
        assert acked - sent >= timings.HANDOFF_QUIET_SECONDS
        b.send(wire.Finished(name="b", exit_code=0, reason="Completed", started_at=time.time(),
                                 finished_at=time.time()))
        assert isinstance(b.receive(timeout=10), wire.Ack)  # the last step: nothing to wait for
        assert pod.finish() == 0
    finally:
        a.close()
        b.close()
    events = [r["event"] for r in pod.supervisor_log() if r.get("step") == "a"]
    assert events == ["released", "announced", "started", "finished"]  # some announced later, all in order


def test_a_step_with_on_error_continue_that_runs_out_of_time_fails_the_run_and_skips_the_rest(pod: Pod) -> None:
    """Tekton pkg/entrypoint/entrypointer.go, Entrypointer.Go: onError continue forgives an ExitError only; a
    step's deadline (ErrContextDeadlineExceeded) writes `out.err` and the TaskRun fails."""
    pod.plan([{"name": "a", "on_error": "continue", "timeout_seconds": 0.5}, "b"])
    pod.supervise()
    a, b = pod.steps({"a": "sleep 30", "b": "true"}, extra=("--on-error", "continue"))
    assert pod.finish(timeout=20) == 1
    done = _finished(pod)
    assert (done["a"]["outcome"], done["a"]["reason"]) == ("timed_out", "TimeoutExceeded")
    assert a.returncode == exits.EXIT_TIMEOUT and (pod.steps_dir / "step-a" / "out.err").exists()
    assert pod.order() == ["a"] and b.returncode == exits.EXIT_SKIPPED
    assert pod.outcome() == "Failed"
    assert pod.ended()["message"] == '"step-a" exited because the step exceeded the specified timeout limit'


def test_a_failed_step_says_which_container_exited_with_which_code_and_so_does_the_run(pod: Pod) -> None:
    """Tekton pkg/pod/status.go, getFailureMessage and extractContainerFailureMessage: the TaskRun's message
    is `"step-b" exited with code 3` (the step keeps the wrapper's own message)."""
    pod.plan(["a", "b"])
    pod.supervise()
    pod.steps({"a": "true", "b": "exit 3"})
    assert pod.finish() == 1
    assert _finished(pod)["b"]["message"] == "command exited with code 3"
    assert pod.ended()["message"] == '"step-b" exited with code 3'


def test_an_on_error_continue_step_that_failed_reads_completed_with_its_exit_code(pod: Pod) -> None:
    """Tekton pkg/entrypoint/entrypointer.go: the forgiven step's container exits 0 (kubelet reason
    Completed), its ExitCode is the step's own; pkg/pod/status.go puts that exit code in the step state."""
    pod.plan([{"name": "a", "on_error": "continue"}, "b"])
    pod.supervise()
    a, _ = pod.steps({"a": "exit 5", "b": "true"}, extra=("--on-error", "continue"))
    assert pod.finish() == 0
    assert (_finished(pod)["a"]["reason"], _finished(pod)["a"]["exit_code"]) == ("Completed", 5)
    assert a.returncode == 0 and '"reason":"Completed"' in (pod.steps_dir / "step-a" / "out").read_text()


def test_an_array_result_that_is_not_valid_json_fails_the_task_with_reason_task_run_validation_failed(
        pod: Pod) -> None:
    """Tekton pkg/reconciler/taskrun/taskrun.go: validateTaskRunResults fails the TaskRun with
    podconvert.ReasonFailedValidation (TaskRunValidationFailed) when a result does not match its declared type
    (docs/tasks.md "Emitting results": array and object results are JSON)."""
    results = pod.root / "results"
    pod.plan(["a", "b"], results=[{"name": "list", "type": "array"}, {"name": "image", "type": "object",
                                                                      "properties": ["url"]}])
    pod.supervise()
    extra = ("--results-dir", str(results), "--result", "list", "--result", "image")
    pod.steps({"a": f"mkdir -p {results}; printf '[a, b' > {results}/list; echo '{{\"url\":\"x\"}}' > {results}/image",
               "b": "true"}, extra=extra)
    assert pod.finish() == 1
    last = pod.ended()
    assert (last["outcome"], last["reason"]) == ("Failed", "TaskRunValidationFailed")
    assert '"list": task result is expected to be "array"' in last["message"]
    assert pod.order() == ["a", "b"]  # the steps all ran: it is the TaskRun that fails, at the end
