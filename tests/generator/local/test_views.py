"""The supervisor's status of a PipelineRun as `doll run` sees it (generator/local/views.py): each step under
its task, named as in its Task, the tasks' states and the Pipeline's results."""

from __future__ import annotations

from contracts.plans import Plan, StepPlan
from contracts.task_plans import TaskPlan
from generator.local.views import RunView, StepView, groups, own_name, planned_view, view_from_status
from run_statuses import done, run, step, task


def _diamond() -> RunView:
    """fetch, then build and lint at once (lint guarded out), then deploy; mid-run."""
    return view_from_status(run(
        steps=[done("fetch", "clone", 0.0, 0.8, results={"commit": "0a1b"}), step("build", "compile", "running",
                                                                                started=1.0),
               step("lint", "vet", "done", "skipped", "Skipped"), step("deploy", "push")],
        tasks=[task("fetch", "done", "Succeeded", "Succeeded", started=0.0, finished=0.8, results=("commit",)),
               task("build", "running", started=1.0, run_after=("fetch",)),
               task("lint", "done", "Skipped", "WhenExpressionsSkip", 'when "$(params.lint)" in ["yes"] is false',
                    run_after=("fetch",)),
               task("deploy", run_after=("build", "lint"))]))


def test_each_step_of_a_pipeline_knows_its_task_and_each_task_its_state_and_why() -> None:
    view = _diamond()
    assert [(s.name, s.task) for s in view.steps] == [("fetch-clone", "fetch"), ("build-compile", "build"),
                                                      ("lint-vet", "lint"), ("deploy-push", "deploy")]
    lint = view.tasks[2]
    assert (lint.phase, lint.outcome, lint.reason) == ("done", "Skipped", "WhenExpressionsSkip")
    assert lint.message == 'when "$(params.lint)" in ["yes"] is false'
    assert view.tasks[3].run_after == ("build", "lint") and view.tasks[1].started_at == view.steps[1].started_at


def test_a_step_is_named_as_in_its_task_once_its_task_is_known() -> None:
    assert [own_name(s) for s in _diamond().steps] == ["clone", "compile", "vet", "push"]
    assert own_name(StepView("build-compile")) == "build-compile"  # a TaskRun's step keeps its whole name


def test_the_steps_are_grouped_under_their_tasks_in_the_tasks_order() -> None:
    found = [(t.name if t else None, [s.name for s in steps]) for t, steps in groups(_diamond())]
    assert found == [("fetch", ["fetch-clone"]), ("build", ["build-compile"]), ("lint", ["lint-vet"]),
                     ("deploy", ["deploy-push"])]


def test_a_step_of_a_task_the_status_does_not_list_is_shown_last_not_dropped() -> None:
    view = view_from_status(run(steps=[done("a", "s", 0, 1), done("ghost", "s", 1, 2)], tasks=[task("a")]))
    assert [(t.name if t else None, [s.name for s in steps]) for t, steps in groups(view)] == [
        ("a", ["a-s"]), (None, ["ghost-s"])]


def test_a_task_run_is_one_group_of_its_steps_with_no_task() -> None:
    view = view_from_status(run(steps=[done("", "s0", 0, 1), done("", "s1", 1, 2)], tasks=[]))
    assert view.tasks == () and [(t, [s.name for s in steps]) for t, steps in groups(view)] == [
        (None, ["s0", "s1"])]


def test_the_pipeline_results_take_their_values_from_the_value_map_and_keep_names_given_without_one() -> None:
    view = view_from_status(run([done("a", "s", 0, 1)], [task("a")], "Succeeded", pipeline_results=(
        "digest", "late", "tags"), pipeline_result_values={"digest": "sha256:ab", "tags": ["v1", "latest"]}))
    assert view.pipeline_results == {"digest": "sha256:ab", "late": None, "tags": '["v1", "latest"]'}


def test_the_plan_puts_the_steps_under_their_tasks_when_the_supervisor_never_said() -> None:
    plan = Plan(steps=(StepPlan("a-s", 0, "step-a-s", task="a"), StepPlan("b-s", 1, "step-b-s", task="b")),
                tasks=(TaskPlan("a"), TaskPlan("b", run_after=("a",))))
    view = planned_view(RunView(steps=(StepView("a-s"), StepView("b-s"))), plan)
    assert [(t.name, t.phase, t.run_after) for t in view.tasks] == [("a", "pending", ()), ("b", "pending", ("a",))]
    assert [s.task for s in view.steps] == ["a", "b"]
    said = _diamond()
    assert planned_view(said, plan) == said and planned_view(said, None) == said
