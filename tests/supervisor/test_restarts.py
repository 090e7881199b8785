"""The native layout's supervisor crashes and the kubelet restarts it: the run is taken back, the gate holds.

The supervisor is a restartable init container (`restartPolicy: Always`).  When it dies the kubelet restarts
it (kuberuntime_manager.go computePodActions -> computeInitContainerActions: a restartable init container that
exited is restarted), the first time at once, then after the crash back-off (doBackOff: 10 s, doubling, at most
300 s).  Steps wait for it, given `--await-supervisor`, however long that takes.
"""

from __future__ import annotations

import signal
import time

from supervisor_rig import Pod, wait_for

AWAIT = ("--await-supervisor", "--reconnect-seconds", "0.3")


def _ended(pod: Pod) -> bool:
    return any(r["ev"] == "run_finished" for r in pod.journal())


def test_a_supervisor_killed_while_a_sidecar_is_unready_is_waited_for_and_step_zero_still_waits_for_it(
        pod: Pod) -> None:
    """SIGKILLed while the sidecar's probe fails, restarted after a back-off longer than the wrappers'
    --reconnect-seconds: step 0 must not run before the sidecar is ready (its file-chain fallback has no file
    to wait on and would run at once)."""
    flag = pod.root / "ready"
    pod.plan(["a", "b"], layout="native", linger_seconds=0.1, sidecars=[
        {"name": "db", "container": "sidecar-db", "probe": {"kind": "exec", "command": ["test", "-f", str(flag)]}}])
    sup = pod.supervise()
    pod.sidecar("db", ["sleep", "60"])
    steps = pod.steps({"a": "true", "b": "true"}, extra=AWAIT)
    wait_for(lambda: any(r["ev"] == "announced" and r.get("step") == "a" for r in pod.journal()), what="a's hello")
    sup.kill()
    sup.wait(5)
    time.sleep(2.0)  # the kubelet's back-off (10 s and more after the first restart), beyond --reconnect-seconds
    assert pod.order() == [] and all(s.poll() is None for s in steps)  # still waiting for their supervisor
    sup = pod.supervise()
    time.sleep(1.0)
    assert pod.order() == []  # the restarted supervisor holds the gate: the sidecar is still not ready
    flag.touch()
    wait_for(lambda: _ended(pod), what="the end of the run")
    assert pod.order() == ["a", "b"]
    assert [s.wait(10) for s in steps] == [0, 0]
    assert pod.outcome() == "Succeeded"
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(10) == 0


def test_a_step_that_ended_while_the_supervisor_was_down_is_taken_back_and_the_run_can_be_cancelled(
        pod: Pod) -> None:
    """Killed while step a runs; a ends meanwhile (its post file); the restarted supervisor takes the run back
    (a's end from its files), releases b, and a cancel still reaches the waiting c."""
    pod.plan(["a", "b", "c"], layout="native", linger_seconds=0.1)
    sup = pod.supervise()
    steps = pod.steps({"a": "sleep 0.5", "b": "sleep 30", "c": "true"}, extra=AWAIT)
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    sup.kill()
    sup.wait(5)
    assert steps[0].wait(10) == 0  # a ended with no supervisor to hear it
    time.sleep(1.0)
    assert pod.order() == ["a"]  # b waits for the supervisor, not for a's post file
    sup = pod.supervise()
    wait_for(lambda: pod.order() == ["a", "b"], what="b released by the restarted supervisor")
    assert pod.ctl("cancel").returncode == 0
    wait_for(lambda: _ended(pod), what="the end of the run")
    assert pod.outcome() == "Cancelled"
    assert [s.wait(10) for s in steps[1:]] == [121, 121]
    assert pod.order() == ["a", "b"]
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(10) == 0


def test_a_step_on_the_file_chain_rejoins_a_restarted_supervisor_and_a_cancel_reaches_it(pod: Pod) -> None:
    """Without --await-supervisor (classic, restarted by `doll run` as a kubelet restarts the native one:
    at once, then after the back-off), b falls back to the file chain when the supervisor dies; it asks for
    the supervisor again every second, so the restarted one releases it and can stop it: a cancel reaches b
    (on the file chain alone b would run its 30 s with nobody able to stop it)."""
    pod.plan(["a", "b", "c"], linger_seconds=0.1)
    sup = pod.supervise()
    steps = pod.steps({"a": "sleep 2", "b": "sleep 30", "c": "true"}, extra=("--reconnect-seconds", "0.3"))
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    sup.kill()
    sup.wait(5)
    time.sleep(0.8)  # beyond --reconnect-seconds: b and c are on the file chain
    pod.supervise()
    wait_for(lambda: pod.order() == ["a", "b"], what="b to start")
    wait_for(lambda: pod.step_status("b")["phase"] in ("running", "released"), what="b known to the supervisor")
    assert pod.ctl("cancel").returncode == 0
    assert [s.wait(15) for s in steps] == [0, 121, 121]
    assert pod.finish() == 121
    assert pod.order() == ["a", "b"]
