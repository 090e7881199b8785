"""Ending a run stalled by a step container that exited without a word (generator/local/stalling.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from generator.local import podman, stalling
from generator.local.progress import Display
from generator.local.views import RunView, StepView
from generator.local.stalling import STALL_GRACE_SECONDS, StallWatch


def _watch(monkeypatch: pytest.MonkeyPatch, steps_dir: Path) -> tuple[StallWatch, list[str]]:
    calls: list[str] = []
    monkeypatch.setattr(stalling.podman, "podman", lambda *args, **_: calls.append(" ".join(args)) or "")
    monkeypatch.setattr(stalling.podman, "inspecting",
                        lambda names: [podman.ContainerState(names[0], "exited", 137, "", "", "")])
    return StallWatch("p", Display(io.StringIO(), live=False), steps_dir), calls


def test_steps_not_yet_started_or_waiting_for_their_turn_or_recorded_are_left_alone(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    watch, calls = _watch(monkeypatch, tmp_path)
    (tmp_path / "step-c").mkdir()
    (tmp_path / "step-c" / "out").write_text("{}")  # c recorded its end: the supervisor reconciles from it
    view = RunView(steps=(StepView("a", "released"), StepView("b", "pending"), StepView("c", "released")))
    states = {"doll-supervisor": "running", "step-a": "created", "step-b": "exited", "step-c": "exited"}
    for now in (0.0, 100.0):
        watch.checking(states, view, now)
    assert calls == [] and watch.judging(view) == view


def test_a_released_step_whose_container_exited_ends_the_run_after_the_grace(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    watch, calls = _watch(monkeypatch, tmp_path)
    view = RunView(steps=(StepView("a", "done", "succeeded", "Completed", 0), StepView("b", "released")))
    states = {"doll-supervisor": "running", "step-a": "exited", "step-b": "exited"}
    watch.checking(states, view, 10.0)
    watch.checking(states, view, 10.0 + STALL_GRACE_SECONDS - 0.1)
    assert calls == []
    watch.checking(states, view, 10.0 + STALL_GRACE_SECONDS)
    assert calls == ["exec p-doll-supervisor doll ctl cancel"]
    judged = watch.judging(view)
    assert (judged.outcome, judged.reason) == ("Failed", "StepContainerFailed")
    assert (judged.steps[1].exit_code, judged.steps[1].reason, judged.steps[1].outcome) == (137, "Error", "failed")
