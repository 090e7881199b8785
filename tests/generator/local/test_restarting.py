"""Restarting a dead supervisor as a kubelet would (generator/local/restarting.py)."""

from __future__ import annotations

import io

import pytest

from generator.local import podman, restarting
from generator.local.progress import Display
from generator.local.restarting import SupervisorRestarts, backoff


def test_the_back_off_is_the_kubelets_at_once_then_10_20_40_seconds_capped_at_300() -> None:
    assert [backoff(n) for n in range(7)] == [0, 10, 20, 40, 80, 160, 300]


def test_the_supervisor_is_restarted_only_while_steps_run_and_the_run_has_no_outcome(
        monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[str] = []
    monkeypatch.setattr(restarting.podman, "podman", lambda *args: started.append(" ".join(args)) or "")
    monkeypatch.setattr(restarting.podman, "inspecting",
                        lambda names: [podman.ContainerState(names[0], "exited", 137, "", "", "")])
    out = io.StringIO()
    restarts = SupervisorRestarts("p", Display(out, live=False))
    dead, running = {"doll-supervisor": "exited", "step-a": "running"}, {"doll-supervisor": "running"}
    restarts.checking(dead, decided=True, now=0)  # the run is over: it exits as it should
    restarts.checking({**dead, "step-a": "exited"}, decided=False, now=0)  # no step left: the pod is done
    assert started == []
    restarts.checking(dead, decided=False, now=1)
    assert started == ["start p-doll-supervisor"]
    restarts.checking({**running, "step-a": "running"}, decided=False, now=2)
    restarts.checking(dead, decided=False, now=3)
    restarts.checking(dead, decided=False, now=12.9)
    assert len(started) == 1
    restarts.checking(dead, decided=False, now=13)
    assert len(started) == 2
    assert out.getvalue().splitlines() == [
        "doll: the supervisor died (exit 137) before the run ended; restarting it now, as a kubelet would (restart 1)",
        "doll: the supervisor died (exit 137) before the run ended; restarting it in 10 s, as a kubelet would "
        "(restart 2)"]
