"""A run whose supervisor died before deciding, judged from what the steps recorded (generator/local/judging.py),
and the plan `doll run` reads from the Pod to judge a PipelineRun.

A PipelineRun follows Tekton's rule (pipelinerunstate.go GetPipelineConditionStatus): it succeeded when every
task succeeded or was skipped; a failed task with `onError: continue` fails nothing (TEP-0050,
docs/pipelines.md "Specifying onError for PipelineTasks")."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Literal

import pytest

from contracts.layout import INIT_CONTAINER
from contracts.plans import Plan, StepPlan
from contracts.records import StepRecord, post_json
from contracts.task_plans import TaskPlan
from generator.init.env_values import env_parts
from generator.local import podman
from generator.local.judging import pod_plan, without_supervisor
from generator.local.progress import Display
from generator.local.views import RunView, StepView, view_from_status
from generated import gen
from run_statuses import done, run, step, task


def _plan(on_error: Literal["continue", "stopAndFail"] = "stopAndFail") -> Plan:
    """fetch; build (with `on_error`) and lint after it; deploy after build."""
    return Plan(steps=tuple(StepPlan(f"{t}-s", i, f"step-{t}-s", task=t)
                            for i, t in enumerate(("fetch", "build", "lint", "deploy"))),
                tasks=(TaskPlan("fetch"), TaskPlan("build", run_after=("fetch",), on_error=on_error),
                       TaskPlan("lint", run_after=("fetch",)), TaskPlan("deploy", run_after=("build",))))


def _recorded(steps_dir: Path, name: str, code: int) -> None:
    """The step's wrapper wrote its post file: `out`, or `out.err` when it failed."""
    (steps_dir / f"step-{name}").mkdir()
    (steps_dir / f"step-{name}" / ("out" if code == 0 else "out.err")).write_bytes(post_json(StepRecord(
        name=name, exit_code=code, reason="Completed" if code == 0 else "Error", started_at=1.0, finished_at=2.0,
        failed=code != 0)))


def _supervisor_died(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    monkeypatch.setattr(podman, "inspecting",
                        lambda names: [podman.ContainerState(names[0], "exited", 137, "", "", "")])
    return io.StringIO()


def _died_after_fetch() -> RunView:
    """The supervisor recorded fetch done and lint skipped (its `when` was false), then died."""
    return view_from_status(run(
        steps=[done("fetch", "s", 0, 1), step("build", "s", "running", started=1.0),
               step("lint", "s", "done", "skipped", "Skipped"), step("deploy", "s")],
        tasks=[task("fetch", "done", "Succeeded", "Succeeded", started=0, finished=1),
               task("build", "running", started=1.0, run_after=("fetch",)),
               task("lint", "done", "Skipped", "WhenExpressionsSkip", run_after=("fetch",)),
               task("deploy", run_after=("build",))]))


def test_a_pipeline_whose_tasks_all_ended_well_or_were_skipped_succeeded(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _supervisor_died(monkeypatch)
    _recorded(tmp_path, "build-s", 0)
    _recorded(tmp_path, "deploy-s", 0)
    judged = without_supervisor(_died_after_fetch(), "p", tmp_path, Display(out, live=False), _plan())
    assert (judged.outcome, judged.reason) == ("Succeeded", "")
    assert [(t.name, t.outcome) for t in judged.tasks] == [("fetch", "Succeeded"), ("build", "Succeeded"),
                                                           ("lint", "Skipped"), ("deploy", "Succeeded")]
    assert judged.tasks[1].message == "judged from its steps' own records (the supervisor died)"
    assert "the supervisor died (exit 137) before deciding" in out.getvalue()


def test_a_failed_task_fails_the_pipeline_saying_which(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _supervisor_died(monkeypatch)
    _recorded(tmp_path, "build-s", 1)
    judged = without_supervisor(_died_after_fetch(), "p", tmp_path, Display(out, live=False), _plan())
    assert (judged.outcome, judged.reason) == ("Failed", "the supervisor died; task build ended Failed")
    assert judged.message == "task build ended Failed; task deploy did not end"


def test_a_failed_task_marked_on_error_continue_fails_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _supervisor_died(monkeypatch)
    _recorded(tmp_path, "build-s", 1)
    _recorded(tmp_path, "deploy-s", 0)  # Tekton runs the dependents of a task whose failure is ignored
    judged = without_supervisor(_died_after_fetch(), "p", tmp_path, Display(out, live=False), _plan("continue"))
    assert judged.outcome == "Succeeded" and judged.tasks[1].outcome == "Failed"


def test_a_task_that_never_ended_fails_the_pipeline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _supervisor_died(monkeypatch)
    _recorded(tmp_path, "build-s", 0)
    judged = without_supervisor(_died_after_fetch(), "p", tmp_path, Display(out, live=False), _plan())
    assert (judged.outcome, judged.reason) == ("Failed", "the supervisor died; task deploy did not end")
    assert judged.tasks[3].phase == "pending"


def test_a_pipeline_the_supervisor_never_described_is_judged_from_the_plan_and_the_records(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _supervisor_died(monkeypatch)
    for name in ("fetch-s", "build-s", "lint-s", "deploy-s"):
        _recorded(tmp_path, name, 0)
    view = RunView(steps=tuple(StepView(s.name) for s in _plan().steps))  # as `doll run` starts watching
    judged = without_supervisor(view, "p", tmp_path, Display(out, live=False), _plan())
    assert judged.outcome == "Succeeded" and [s.task for s in judged.steps] == ["fetch", "build", "lint", "deploy"]


def test_a_task_run_is_judged_from_its_steps_as_before(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = _supervisor_died(monkeypatch)
    _recorded(tmp_path, "s0", 0)
    view = view_from_status(run([step("", "s0"), step("", "s1")], []))
    judged = without_supervisor(view, "p", tmp_path, Display(out, live=False))
    assert (judged.outcome, judged.reason) == ("Failed", "the supervisor died; a step failed or did not end")
    _recorded(tmp_path, "s1", 0)
    assert without_supervisor(view, "p", tmp_path, Display(out, live=False)).outcome == "Succeeded"


def test_the_plan_is_read_from_the_pod_s_init_container() -> None:
    pod = gen("""
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: hello}
        spec:
          taskSpec:
            steps:
              - {name: one, image: busybox, script: "echo 1"}
              - {name: two, image: busybox, script: "echo 2"}
    """)[0]
    plan = pod_plan(pod)
    assert plan is not None and [s.name for s in plan.steps] == ["one", "two"] and plan.tasks == ()
    env = [{"name": k, "value": v} for k, v in env_parts("DOLL_PLAN", json.loads(_plan().to_json()))]
    pipeline = {"spec": {"initContainers": [{"name": INIT_CONTAINER, "env": env}]}}
    assert pod_plan(pipeline) == _plan()
    assert pod_plan({"spec": {"initContainers": [{"name": INIT_CONTAINER, "env": [
        {"name": "DOLL_PLAN", "value": "{"}]}]}}) is None and pod_plan({"spec": {}}) is None
