"""The two layouts: classic (nothing restarts the supervisor; its exit code is the outcome) and native."""

from __future__ import annotations

import signal
import time

from supervisor_rig import Pod, wait_for


def test_classic_layout_a_supervisor_killed_for_good_leaves_the_file_chain_to_finish_in_order(pod: Pod) -> None:
    pod.plan(["a", "b", "c"])
    sup = pod.supervise()
    wrappers = pod.steps({"a": "sleep 0.5", "b": "sleep 0.2", "c": "true"}, extra=("--reconnect-seconds", "0.3"))
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    sup.kill()
    pod.finish(timeout=30)
    assert pod.order() == ["a", "b", "c"]
    assert [w.returncode for w in wrappers] == [0, 0, 0]
    for name in "abc":
        assert (pod.steps_dir / f"step-{name}" / "out").exists()


def test_a_supervisor_restarted_after_the_end_reports_the_same_outcome_and_runs_nothing(pod: Pod) -> None:
    pod.plan(["a", "b"])
    pod.supervise()
    pod.steps({"a": "exit 4", "b": "true"})
    assert pod.finish() == 1
    records = len(pod.journal())
    pod.supervise()
    assert pod.finish() == 1
    assert pod.order() == ["a"]
    assert len(pod.journal()) == records  # nothing new happened


def test_native_layout_the_supervisor_stays_up_after_the_run_until_sigterm_then_exits_0(pod: Pod) -> None:
    pod.plan(["a"], layout="native", linger_seconds=0.1)
    sup = pod.supervise()
    pod.step("a", 0, "exit 3")
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), what="the end of the run")
    time.sleep(1.0)
    assert sup.poll() is None  # a native sidecar that exited would be restarted by the kubelet
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(10) == 0
    assert pod.outcome() == "Failed"


def test_native_layout_leaves_sidecars_running_for_the_kubelet_to_stop(pod: Pod) -> None:
    pod.plan(["a"], layout="native", linger_seconds=0.1, sidecars=[{"name": "side", "container": "sidecar-side"}])
    sup = pod.supervise()
    side = pod.sidecar("side", ["sleep", "30"])
    pod.step("a", 0, "true")
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), what="the end of the run")
    time.sleep(1.0)
    assert side.poll() is None  # stopped now, a native sidecar would be restarted by the kubelet
    side.send_signal(signal.SIGTERM)  # what the kubelet does once every step container has exited
    sup.send_signal(signal.SIGTERM)
    assert side.wait(10) == 128 + signal.SIGTERM
    assert sup.wait(10) == 0


def test_native_layout_one_sigterm_mid_run_stops_the_step_and_exits_0(pod: Pod) -> None:
    pod.plan(["a", "b"], layout="native", linger_seconds=60)
    sup = pod.supervise()
    a, b = pod.steps({"a": "sleep 30", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    sup.send_signal(signal.SIGTERM)  # the Pod is deleted: the kubelet sends it once
    assert a.wait(10) == 121 and b.wait(10) == 121  # stopped (Cancelled), skipped as cancelled
    wait_for(lambda: pod.outcome() == "Cancelled", what="the cancelled outcome")
    assert 'doll_task_outcome{outcome="Cancelled"' in pod.http("/metrics")[1]  # the last scrape, then it goes
    assert sup.wait(15) == 0


def test_native_layout_after_the_run_sigterm_still_serves_the_final_scrape_then_exits(pod: Pod) -> None:
    """The kubelet stops a finished Pod's restartable init containers (the supervisor first among them, so
    last) within a second of the last step's exit: kuberuntime_container.go killContainersWithSyncResult with
    kuberuntime_termination_order.go's ordering, each given the Pod's terminationGracePeriodSeconds.  At 15-60 s
    scrape intervals the final values are only scraped if the supervisor keeps serving after that SIGTERM."""
    pod.plan(["a"], layout="native", linger_seconds=30)
    sup = pod.supervise()
    assert pod.http("/healthz")[0] == 200  # serving (a scrape before the end does not count)
    pod.step("a", 0, "exit 3")
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), what="the end of the run")
    sup.send_signal(signal.SIGTERM)  # the kubelet, once step-a's container has exited
    time.sleep(1.0)
    assert sup.poll() is None  # waiting for its final scrape
    body = pod.http("/metrics")[1]
    assert 'doll_task_outcome{outcome="Failed"' in body and "doll_step_exit_code" in body
    assert sup.wait(10) == 0


def test_native_layout_with_no_scrape_exits_after_linger_seconds_of_the_sigterm(pod: Pod) -> None:
    pod.plan(["a"], layout="native", linger_seconds=1.5)
    sup = pod.supervise()
    assert pod.http("/healthz")[0] == 200
    pod.step("a", 0, "true")
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), what="the end of the run")
    time.sleep(2.0)  # longer than linger_seconds: before the SIGTERM the supervisor does not count it
    sent = time.monotonic()
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(10) == 0
    assert 1.0 <= time.monotonic() - sent < 8.0


def test_classic_layout_one_sigterm_mid_run_exits_121_without_lingering(pod: Pod) -> None:
    pod.plan(["a"], linger_seconds=60)
    sup = pod.supervise()
    pod.http("/metrics")  # serving: it would linger for a scrape
    pod.step("a", 0, "sleep 30")
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(15) == 121


def test_native_layout_pod_deletion_signals_the_steps_first_and_the_run_is_cancelled(pod: Pod) -> None:
    """Pod deletion, native layout: kuberuntime_container.go killContainersWithSyncResult, ordered by
    kuberuntime_termination_order.go, sends SIGTERM to every regular container (the steps) at once and to the
    restartable init containers (the supervisor) only once those have exited.  The running step's child then
    exits 143: without a word from its wrapper the run would be Failed, as it was; it is Cancelled."""
    pod.plan(["a", "b"], layout="native", linger_seconds=0.1)
    sup = pod.supervise()
    a, b = pod.steps({"a": "sleep 30", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    a.send_signal(signal.SIGTERM)
    b.send_signal(signal.SIGTERM)
    assert a.wait(15) in (121, 143) and b.wait(10) == 121
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), what="the end of the run")
    end = next(r for r in pod.journal() if r["ev"] == "run_finished")
    assert end["outcome"] == "Cancelled", end
    cancel = next(r for r in pod.journal() if r["ev"] == "cancel")
    assert "the Pod is being deleted" in cancel["message"] and "SIGTERM" in cancel["message"]
    sup.send_signal(signal.SIGTERM)  # last, once the steps have exited
    assert sup.wait(10) == 0
    assert pod.order() == ["a"]


def test_a_step_stopped_by_the_supervisor_does_not_cancel_a_second_time(pod: Pod) -> None:
    """The step's own timeout stops it with SIGTERM sent by its wrapper, not the kubelet: the run fails."""
    pod.plan([{"name": "a", "timeout_seconds": 0.5}, {"name": "b"}], layout="native", linger_seconds=0.1)
    sup = pod.supervise()
    pod.steps({"a": "sleep 30", "b": "true"})
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), 20, what="the end of the run")
    assert next(r for r in pod.journal() if r["ev"] == "run_finished")["outcome"] == "Failed"
    assert not any(r["ev"] == "cancel" for r in pod.journal())
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(10) == 0
