"""Sidecar readiness and lifetime: real sidecar wrappers running real servers, probed by the real supervisor."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from supervisor_rig import Pod, free_port, wait_for

HERE = Path(__file__).parent


def _journal_at(pod: Pod, ev: str, **match: str) -> float:
    return float(next(r["at"] for r in pod.journal() if r["ev"] == ev and all(r.get(k) == v for k, v in match.items())))


def _http_server(port: int, delay: float) -> list[str]:
    return ["sh", "-c", f"sleep {delay}; exec {sys.executable} -m http.server {port} --bind 127.0.0.1"]


def test_step_zero_is_released_by_a_slow_http_sidecar_becoming_ready(pod: Pod) -> None:
    port = free_port()
    pod.plan(["a"], sidecars=[{"name": "web", "container": "sidecar-web",
                               "probe": {"kind": "httpGet", "port": port, "path": "/"}}])
    pod.supervise()
    pod.sidecar("web", _http_server(port, 0.6))
    pod.step("a", 0)
    assert pod.finish() == 0
    ready = _journal_at(pod, "sidecar_ready", sidecar="web")
    released = _journal_at(pod, "released", step="a")
    started = _journal_at(pod, "run")
    assert ready - started >= 0.5  # it really was slow
    assert released >= ready
    # released by the readiness itself: the very next record (the latency is measured in bench/)
    evs = [r["ev"] for r in pod.journal()]
    assert evs[evs.index("sidecar_ready") + 1] == "released"
    assert pod.order() == ["a"]


def test_a_tcp_sidecar_and_an_exec_probe_through_its_wrapper_gate_step_zero(pod: Pod) -> None:
    port = free_port()
    flag = pod.root / "ready-flag"
    pod.plan(["a"], sidecars=[
        {"name": "tcp", "container": "sidecar-tcp", "probe": {"kind": "tcpSocket", "port": port}},
        {"name": "exe", "container": "sidecar-exe", "probe": {"kind": "exec", "command": ["test", "-f", str(flag)]}},
    ])
    pod.supervise()
    pod.sidecar("tcp", _http_server(port, 0.2))
    pod.sidecar("exe", ["sh", "-c", f"sleep 0.8; touch {flag}; exec sleep 60"])
    pod.step("a", 0)
    assert pod.finish() == 0
    released = _journal_at(pod, "released", step="a")
    assert released >= _journal_at(pod, "sidecar_ready", sidecar="exe") >= _journal_at(pod, "run") + 0.7
    assert released >= _journal_at(pod, "sidecar_ready", sidecar="tcp")
    stopped = {r["sidecar"] for r in pod.journal() if r["ev"] == "sidecar_stopped"}
    assert stopped == {"tcp", "exe"}  # told to stop at the end, and gone


def test_a_grpc_health_sidecar_is_ready_only_when_serving(pod: Pod) -> None:
    serving, not_serving = free_port(), free_port()
    pod.plan(["a"], sidecars=[
        {"name": "good", "container": "s-good", "probe": {"kind": "grpc", "port": serving, "service": "db"}},
        {"name": "bad", "container": "s-bad", "probe": {"kind": "grpc", "port": not_serving},
         "ready_timeout_seconds": 3},
    ])
    pod.supervise()
    server = str(HERE / "grpc_health_server.py")
    pod.sidecar("good", [sys.executable, server, str(serving), "NOT_SERVING", "0.3"])
    pod.sidecar("bad", [sys.executable, server, str(not_serving), "NOT_SERVING"])
    pod.step("a", 0)
    assert pod.finish() == 1
    status = {r["sidecar"]: r for r in pod.journal() if r["ev"] in ("sidecar_ready", "sidecar_failed")}
    assert status["good"]["ev"] == "sidecar_ready"  # service "db" is SERVING
    assert status["bad"]["ev"] == "sidecar_failed" and "health status 2" in status["bad"]["reason"]
    assert pod.order() == []


def test_a_sidecar_never_ready_fails_the_task_naming_it_and_no_step_runs(pod: Pod) -> None:
    port = free_port()
    pod.plan(["a", "b"], sidecars=[{"name": "db", "container": "sidecar-db", "ready_timeout_seconds": 1.0,
                                    "probe": {"kind": "tcpSocket", "port": port}}])
    pod.supervise()
    pod.sidecar("db", ["sleep", "60"])
    wrappers = pod.steps({"a": "true", "b": "true"})
    t0 = time.monotonic()
    assert pod.finish() == 1
    assert time.monotonic() - t0 < 20
    assert pod.order() == []
    last = pod.ended()
    assert last["outcome"] == "Failed" and last["reason"] == "SidecarFailed"
    assert last["message"].startswith("sidecar db not ready within 1.0s")
    assert all(w.returncode != 0 for w in wrappers)


def test_a_sidecar_that_exits_mid_run_with_an_error_does_not_fail_the_task(pod: Pod) -> None:
    """Tekton pkg/pod/status.go, DidTaskRunFail: only the steps' exit codes fail a TaskRun; a sidecar's state is
    reported (setTaskRunStatusBasedOnSidecarStatus), nothing more."""
    pod.plan(["a", "b"], sidecars=[{"name": "flaky", "container": "sidecar-flaky"}])
    pod.supervise()
    car = pod.sidecar("flaky", ["sh", "-c", "sleep 0.5; exit 7"])
    pod.steps({"a": "sleep 2", "b": "true"})
    assert pod.finish(timeout=30) == 0
    assert pod.order() == ["a", "b"] and car.returncode == 7
    stopped = [r for r in pod.journal() if r["ev"] == "sidecar_stopped"]
    assert [(r["sidecar"], r["reason"]) for r in stopped] == [("flaky", "exited with code 7")]
    assert not any(r["ev"] in ("sidecar_failed", "cancel") for r in pod.journal())
    assert pod.outcome() == "Succeeded"


def test_a_sidecar_that_does_its_setup_and_exits_0_lets_the_steps_run_and_the_task_succeed(pod: Pod) -> None:
    """Tekton docs/tasks.md "Specifying Sidecars" and pkg/pod/status.go, SidecarsReady: a terminated sidecar
    counts as ready, so one that exits before any probe passed still lets step 0 start."""
    port = free_port()
    pod.plan(["a", "b"], sidecars=[{"name": "setup", "container": "sidecar-setup", "ready_timeout_seconds": 10,
                                    "probe": {"kind": "tcpSocket", "port": port}}])
    pod.supervise()
    pod.sidecar("setup", ["sh", "-c", f"touch {pod.root / 'set-up'}"])
    pod.steps({"a": f"test -f {pod.root / 'set-up'}", "b": "sleep 1.5"})
    assert pod.finish(timeout=30) == 0
    assert pod.order() == ["a", "b"]
    assert pod.outcome() == "Succeeded"
    assert _journal_at(pod, "released", step="a") >= _journal_at(pod, "sidecar_stopped", sidecar="setup")


def test_a_sidecar_ignoring_sigterm_is_killed_after_its_grace_and_the_pod_completes(pod: Pod) -> None:
    pod.plan(["a"], sidecars=[{"name": "stubborn", "container": "s", "stop_grace_seconds": 0.5}])
    pod.supervise()
    car = pod.sidecar("stubborn", ["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"])
    pod.step("a", 0)
    wait_for(lambda: pod.order() == ["a"], what="a to run")
    t0 = time.monotonic()
    assert pod.finish(timeout=30) == 0
    assert time.monotonic() - t0 < 20  # killed after its grace, not left running
    assert car.returncode == 0  # stopped on the supervisor's word
    assert any(r["ev"] == "sidecar_stopped" and r["sidecar"] == "stubborn" for r in pod.journal())


def test_initial_delay_is_honoured_and_failure_threshold_marks_a_ready_sidecar_unready(pod: Pod) -> None:
    import socket as socketlib
    listener = socketlib.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    pod.plan(["a"], sidecars=[{"name": "db", "container": "sidecar-db", "probe": {
        "kind": "tcpSocket", "port": port, "initial_delay_seconds": 0.8, "failure_threshold": 2}}])
    try:
        pod.supervise()
        pod.sidecar("db", ["sleep", "60"])
        pod.step("a", 0, "sleep 4")
        wait_for(lambda: pod.order() == ["a"], what="a to start")
        assert _journal_at(pod, "sidecar_ready", sidecar="db") - _journal_at(pod, "run") >= 0.8
    finally:
        listener.close()  # the sidecar's port goes away: after 2 failed probes it is unready
    wait_for(lambda: any(r["ev"] == "sidecar_unready" for r in pod.journal()), timeout=8, what="unready")
    _, metrics = pod.http("/metrics")
    assert 'doll_sidecar_state{sidecar="db",state="unready"} 1.0' in metrics
    ready_line = next(line for line in metrics.splitlines() if line.startswith('doll_sidecar_ready_seconds{sidecar="db"}'))
    assert float(ready_line.split()[-1]) >= 0.8  # time-to-ready includes the initial delay
    assert pod.finish() == 0  # like kubelet's readiness, it does not fail the task


def test_a_sidecar_bound_to_the_pod_ip_only_is_probed_where_the_kubelet_probes_it(pod: Pod) -> None:
    """pkg/kubelet/prober/prober.go runProbe: an httpGet/tcpSocket probe without `host` (and every grpc probe)
    goes to status.PodIP, not to localhost.  A server bound to the Pod IP only (here 127.0.0.2: the rig's
    Pod IP, given to the supervisor as the generator gives it, POD_IP from the downward API) passes the
    kubelet's probe, so it must pass doll's gate; on 127.0.0.1 it would never be ready."""
    port, tcp_port = free_port(), free_port()
    pod.plan(["a"], sidecars=[
        {"name": "web", "container": "sidecar-web", "probe": {"kind": "httpGet", "port": port, "path": "/"}},
        {"name": "tcp", "container": "sidecar-tcp", "probe": {"kind": "tcpSocket", "port": tcp_port}}])
    pod.supervise(env={"POD_IP": "127.0.0.2"})
    pod.sidecar("web", ["sh", "-c", f"exec {sys.executable} -m http.server {port} --bind 127.0.0.2"])
    pod.sidecar("tcp", ["sh", "-c", f"exec {sys.executable} -m http.server {tcp_port} --bind 127.0.0.2"])
    pod.step("a", 0)
    assert pod.finish() == 0
    assert pod.order() == ["a"]


def test_the_pod_address_is_pod_ip_else_the_hostnames_else_loopback() -> None:
    from supervisor.probes import pod_address

    assert pod_address({"POD_IP": "10.1.2.3"}) == "10.1.2.3"
    assert pod_address({"POD_IP": "fd00::5"}) == "fd00::5"
    found = pod_address({"POD_IP": "not an ip"})  # this machine's hostname's address, or loopback
    assert found == "127.0.0.1" or not found.startswith("127.")
