"""The supervisor's last word stands after it is gone: wrappers whose containers start late (a slow image
pull) heed its verdict files instead of running what it decided not to run (classic layout, where the
supervisor exits with the run)."""

from __future__ import annotations

import json
import os
import signal

import pytest

from contracts import exits, layout, wire
from supervisor_rig import Pod, wait_for

LATE = ("--socket-wait-seconds", "1", "--reconnect-seconds", "0.3")  # find the supervisor gone quickly


def _held(pod: Pod) -> bool:
    done = pod.ctl("--json", "status")
    return done.returncode == 0 and json.loads(done.stdout)["status"]["hold"] is not None


def test_a_step_failed_at_its_breakpoint_before_its_container_started_does_not_run_later(pod: Pod) -> None:
    pod.plan(["a", {"name": "b", "breakpoint_before": True}, "c"])
    sup = pod.supervise()
    a = pod.step("a", 0, "true")
    wait_for(lambda: _held(pod), what="b held before it runs")
    assert pod.ctl("fail", "b").returncode == 0
    assert sup.wait(20) == 1 and a.wait(10) == 0
    b = pod.step("b", 1, "true", prev="a", extra=LATE)  # b's and c's containers start only now
    c = pod.step("c", 2, "true", prev="b", extra=LATE)
    assert b.wait(20) == exits.EXIT_DEBUG_FAILED
    assert c.wait(20) == exits.EXIT_SKIPPED
    assert pod.order() == ["a"]
    assert json.loads((pod.steps_dir / "step-b" / "out.err").read_text())["started_at"] is None


def test_a_step_failed_at_its_breakpoint_hears_it_when_it_says_hello_afterwards(pod: Pod) -> None:
    pod.plan(["a", {"name": "b", "breakpoint_before": True}], layout="native")  # the supervisor stays up
    sup = pod.supervise()
    pod.step("a", 0, "true")
    wait_for(lambda: _held(pod), what="b held before it runs")
    assert pod.ctl("fail", "b").returncode == 0
    wait_for(lambda: any(r["ev"] == "run_finished" for r in pod.journal()), what="the end of the run")
    b = pod.step("b", 1, "true", prev="a")
    assert b.wait(20) == exits.EXIT_DEBUG_FAILED  # told over the socket: a bare ack left it waiting
    assert pod.order() == ["a"]
    sup.send_signal(signal.SIGTERM)
    assert sup.wait(10) == 0


def test_a_run_cancelled_before_any_container_started_runs_nothing_when_they_do(pod: Pod) -> None:
    pod.plan(["a", "b"])
    sup = pod.supervise()
    pod.wait_socket()
    assert pod.ctl("cancel").returncode == 0
    assert sup.wait(20) == exits.EXIT_CANCELLED
    late = pod.steps({"a": "true", "b": "true"}, extra=LATE)
    assert [w.wait(20) for w in late] == [exits.EXIT_CANCELLED, exits.EXIT_CANCELLED]
    assert pod.order() == []


def test_a_sidecar_whose_container_starts_after_the_run_does_not_start(pod: Pod) -> None:
    pod.plan(["a"], sidecars=[{"name": "side", "container": "sidecar-side"}, {"name": "db", "container": "sidecar-db"}])
    sup = pod.supervise()
    side = pod.sidecar("side", ["sh", "-c", "exec sleep 60"])
    pod.wait_socket()
    # the run ends before db ever connects (cancelled: a sidecar that exits no longer fails a run, as in Tekton)
    assert pod.ctl("cancel").returncode == 0
    assert sup.wait(20) == exits.EXIT_CANCELLED and side.wait(10) == 0
    marker = pod.root / "db-ran"
    db = pod.sidecar("db", ["sh", "-c", f"touch {marker}; sleep 60"], extra=LATE)
    assert db.wait(20) == 0
    assert not marker.exists()


def test_a_sidecar_running_without_a_supervisor_stops_on_its_verdict(pod: Pod) -> None:
    # the verdict is written here as the supervisor writes it (`verdict` in the sidecar's channel, one `stop`):
    # a sidecar that has lost its supervisor for good cannot be reached any other way
    pod.plan(["a"], sidecars=[{"name": "side", "container": "sidecar-side"}])
    pidfile = pod.root / "side.pid"
    side = pod.sidecar("side", ["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"], extra=("--socket-wait-seconds", "0"))
    pid = int(wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), what="the sidecar running"))
    channel = pod.channels_dir / "sidecar-side"
    channel.mkdir(parents=True)
    (channel / layout.VERDICT_NAME).write_bytes(wire.encode(wire.Stop(reason="the run is over", grace_seconds=5)))
    assert side.wait(10) == 0  # stopped (SIGTERM to its group), as on the supervisor's word
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_step_and_a_sidecar_of_the_same_name_each_keep_their_own_verdict(pod: Pod) -> None:
    pod.plan(["foo", "bar"], sidecars=[{"name": "foo", "container": "sidecar-foo"}])
    sup = pod.supervise()
    pod.wait_socket()
    assert pod.ctl("cancel").returncode == 0  # skips both steps, then stops the sidecar: two verdicts for "foo"
    assert sup.wait(20) == exits.EXIT_CANCELLED
    late = pod.steps({"foo": "true", "bar": "true"}, extra=LATE)
    assert [w.wait(20) for w in late] == [exits.EXIT_CANCELLED, exits.EXIT_CANCELLED]
    assert pod.order() == []
