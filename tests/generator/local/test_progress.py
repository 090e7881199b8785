"""What `doll run` shows while a run goes on (generator/local/progress.py), from RunStatus documents as the
supervisor writes them: a PipelineRun's steps under their tasks, a TaskRun's as they always were."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from generator.local.progress import Display
from generator.local.views import view_from_status
from run_statuses import AT, done, run, step, task


def _pipeline(later: bool = False) -> dict[str, Any]:
    """fetch; then build, test and lint (guarded out) at once; then deploy; notify finally.  `later`: build and
    test have ended and deploy runs."""
    ended = [done("build", "compile", 1.0, 2.0), done("test", "unit", 1.2, 2.2)] if later else \
        [step("build", "compile", "running", started=1.0), step("test", "unit", "running", started=1.2)]
    return run(
        steps=[done("fetch", "clone", 0.0, 0.8), *ended, step("lint", "vet", "done", "skipped", "Skipped"),
               step("deploy", "push", "running", started=2.3) if later else step("deploy", "push"),
               step("notify", "mail")],
        tasks=[task("fetch", "done", "Succeeded", "Succeeded", started=0.0, finished=0.8),
               *([task("build", "done", "Succeeded", "Succeeded", started=1.0, finished=2.0, run_after=("fetch",)),
                  task("test", "done", "Succeeded", "Succeeded", started=1.2, finished=2.2, run_after=("fetch",))]
                 if later else [task("build", "running", started=1.0, run_after=("fetch",)),
                                task("test", "running", started=1.2, run_after=("fetch",))]),
               task("lint", "done", "Skipped", "WhenExpressionsSkip", 'when "$(params.lint)" in ["yes"] is false',
                    run_after=("fetch",)),
               task("deploy", "running", started=2.3, run_after=("build", "test")) if later else
               task("deploy", run_after=("build", "test")),
               task("notify", is_finally=True)])


def test_the_live_block_shows_each_task_with_its_steps_under_it_and_the_tasks_running_together(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: AT + 2.5)  # the clock: 2.5 s into the run
    out = io.StringIO()
    Display(out, live=True).show(view_from_status(_pipeline()))
    assert out.getvalue().splitlines() == [
        "-- doll run 2.500s --",
        "  tasks running together: build, test",
        "  task fetch: Succeeded 0.800s",
        "    clone: Completed exit 0 0.800s",
        "  task build: running 1.500s",
        "    compile: running 1.500s",
        "  task test: running 1.300s",
        "    unit: running 1.300s",
        '  task lint: Skipped (WhenExpressionsSkip: when "$(params.lint)" in ["yes"] is false)',
        "    vet: Skipped",
        "  task deploy: waiting for build, test",
        "    push: pending",
        "  task notify (finally): waiting for the other tasks to end",
        "    mail: pending"]


def test_plain_lines_say_each_change_of_a_task_or_step_once_naming_the_step_under_its_task() -> None:
    out = io.StringIO()
    display = Display(out, live=False)
    display.show(view_from_status(_pipeline()))
    first = out.getvalue().splitlines()
    assert first[:3] == ["doll: tasks running together: build, test", "doll: task fetch: Succeeded 0.800s",
                         "doll: fetch/clone: Completed exit 0 0.800s"]
    assert "doll: task build: running" in first and "doll: build/compile: running" in first
    assert "doll: task deploy: waiting for build, test" in first
    display.show(view_from_status(_pipeline()))  # nothing changed: nothing said
    display.show(view_from_status(_pipeline(later=True)))
    assert out.getvalue().splitlines()[len(first):] == [
        "doll: task build: Succeeded 1.000s", "doll: build/compile: Completed exit 0 1.000s",
        "doll: task test: Succeeded 1.000s", "doll: test/unit: Completed exit 0 1.000s",
        "doll: task deploy: running", "doll: deploy/push: running"]


def test_a_finally_task_waits_only_for_its_turn_once_every_other_task_ended() -> None:
    status = run(steps=[done("a", "s", 0, 1), step("z", "s")],
                 tasks=[task("a", "done", "Failed", "Failed", "step s exited 1", 0, 1), task("z", is_finally=True)])
    out = io.StringIO()
    Display(out, live=False).show(view_from_status(status))
    assert out.getvalue().splitlines() == ["doll: task a: Failed 1.000s (step s exited 1)",
                                           "doll: a/s: Completed exit 0 1.000s",
                                           "doll: task z (finally): waiting", "doll: z/s: pending"]


def test_a_task_run_is_shown_as_before_its_steps_by_name_with_no_task(monkeypatch: pytest.MonkeyPatch) -> None:
    status = run(steps=[done("", "s0", 0, 1), step("", "s1", "running", started=1.0), step("", "s2")], tasks=[])
    out = io.StringIO()
    display = Display(out, live=False)
    display.show(view_from_status(status))
    display.show(view_from_status(status))
    assert out.getvalue().splitlines() == ["doll: s0: Completed exit 0 1.000s", "doll: s1: running",
                                           "doll: s2: pending"]
    monkeypatch.setattr(time, "time", lambda: AT + 1.25)
    live = io.StringIO()
    Display(live, live=True).show(view_from_status(status))
    assert live.getvalue().splitlines() == ["-- doll run 1.250s --", "  s0: Completed exit 0 1.000s",
                                            "  s1: running 0.250s", "  s2: pending"]
