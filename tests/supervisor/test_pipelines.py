"""A pipeline's tasks in one Runner (in-process, a fake clock): order, Tekton's skip rules, refs, finally.

Each test names the part of Tekton it follows (tektoncd/pipeline: docs/pipelines.md, docs/matrix.md,
pkg/reconciler/pipelinerun/resources/pipelinerunresolution.go, pipelinerunstate.go,
pkg/apis/pipeline/v1/pipelinerun_types.go SkippingReason).
"""

from __future__ import annotations

import os
import stat
import statistics
import time
from pathlib import Path

from contracts.journal import parse_record
from supervisor.states import RunState
from pipeline_rig import PipelineRig, value

DIAMOND = [{"name": "a"}, {"name": "b", "run_after": ["a"]}, {"name": "c", "run_after": ["a"]},
           {"name": "d", "run_after": ["b", "c"]}]


def test_independent_tasks_are_released_together_and_a_task_waits_for_all_it_runs_after() -> None:
    """docs/pipelines.md "Configuring the Task execution order": runAfter; tasks without order run in parallel."""
    rig = PipelineRig(DIAMOND).begin()
    assert rig.running() == {"a-run"}
    rig.finish("a-run")
    assert rig.running() == {"b-run", "c-run"}
    rig.finish("b-run")
    assert rig.running() == {"c-run"}  # d waits for c too
    rig.finish("c-run")
    assert rig.running() == {"d-run"}
    rig.finish("d-run")
    assert (rig.state.outcome, rig.state.reason) == ("Succeeded", "Succeeded")
    assert rig.state.message == "Tasks Completed: 4 (Failed: 0, Cancelled 0), Skipped: 0"


def test_inside_a_task_steps_stay_in_order() -> None:
    rig = PipelineRig([{"name": "a"}, {"name": "b"}], steps={"a": ["one", "two"], "b": ["one"]}).begin()
    assert rig.running() == {"a-one", "b-one"}
    rig.finish("a-one")
    assert rig.running() == {"a-two", "b-one"}


def test_a_failed_task_skips_its_dependents_while_the_running_branch_finishes_and_finally_still_runs() -> None:
    """pipelinerunresolution.go skip(): IsStopping -> StoppingSkip for DAG tasks not started; started ones finish
    (docs/pipelines.md "Adding Finally to the Pipeline": finally tasks run whatever the outcome)."""
    rig = PipelineRig([{"name": "a"}, {"name": "slow"}, {"name": "after-a", "run_after": ["a"]},
                       {"name": "after-slow", "run_after": ["slow"]}, {"name": "fin", "is_finally": True}]).begin()
    rig.finish("a-run", exit_code=1)
    assert rig.task("a") == ("Failed", "Failed")
    assert rig.task("after-a") == ("Skipped", "StoppingSkip")
    assert rig.ops("after-a-run") == ["skip"]
    assert rig.running() == {"slow-run"}  # the independent branch goes on
    rig.finish("slow-run")
    assert rig.task("slow") == ("Succeeded", "Succeeded")
    assert rig.task("after-slow") == ("Skipped", "StoppingSkip")  # its turn came while the run was stopping
    assert rig.running() == {"fin-run"}
    rig.finish("fin-run")
    assert (rig.state.outcome, rig.state.reason) == ("Failed", "Failed")
    assert rig.state.message.startswith("Tasks Completed: 3 (Failed: 1, Cancelled 0), Skipped: 2")


def test_a_task_with_onError_continue_fails_without_stopping_the_run() -> None:
    """docs/pipelines.md "Specifying onError for PipelineTasks": the failure is ignored (FailureIgnored)."""
    rig = PipelineRig([{"name": "a", "on_error": "continue"}, {"name": "b", "run_after": ["a"]}]).begin()
    rig.finish("a-run", exit_code=1)
    assert rig.task("a") == ("Failed", "FailureIgnored")
    rig.finish("b-run")
    assert (rig.state.outcome, rig.state.reason) == ("Succeeded", "Succeeded")


def test_a_false_when_skips_only_its_task_runAfter_dependents_run_and_a_result_user_is_skipped(tmp_path: Path) -> None:
    """docs/pipelines.md "Guard Task execution using when expressions" (guarding a Task only): WhenExpressionsSkip;
    skipBecauseParentTaskWasSkipped ignores a parent skipped by its when; skipBecauseResultReferencesAreMissing:
    a task using a when-skipped task's result is MissingResultsSkip; the run is Succeeded with reason Completed."""
    rig = PipelineRig([
        {"name": "check"},
        {"name": "guarded", "run_after": ["check"], "results": [{"name": "out"}],
         "when": [{"input": "$(tasks.check.results.go)", "operator": "in", "values": ["yes"]}]},
        {"name": "next", "run_after": ["guarded"]},
        {"name": "user", "run_after": ["guarded"], "refs": ["tasks.guarded.results.out"]},
    ], channels=tmp_path).begin()
    rig.finish("check-run", results={"go": "no"})
    assert rig.task("guarded") == ("Skipped", "WhenExpressionsSkip")
    assert "when[0]" in rig.message("guarded") and "'no'" in rig.message("guarded")
    assert rig.task("user") == ("Skipped", "MissingResultsSkip")
    assert "$(tasks.guarded.results.out)" in rig.message("user")
    assert rig.running() == {"next-run"}
    rig.finish("next-run")
    assert (rig.state.outcome, rig.state.reason) == ("Succeeded", "Completed")
    assert rig.state.message == "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 2"


def test_when_values_take_a_whole_array_and_notin_works() -> None:
    """docs/pipelines.md "Guard Task execution using when expressions": values may be `$(…[*])` of an array."""
    rig = PipelineRig([
        {"name": "list", "results": [{"name": "names", "type": "array"}]},
        {"name": "hit", "run_after": ["list"],
         "when": [{"input": "b", "operator": "in", "values": ["$(tasks.list.results.names[*])"]}]},
        {"name": "miss", "run_after": ["list"],
         "when": [{"input": "b", "operator": "notin", "values": ["$(tasks.list.results.names[*])"]}]},
    ]).begin()
    rig.finish("list-run", results={"names": '["a", "b"]'})
    assert rig.running() == {"hit-run"} and rig.task("miss") == ("Skipped", "WhenExpressionsSkip")


def test_a_task_after_a_task_skipped_for_another_reason_is_ParentTasksSkip() -> None:
    """pipelinerunresolution.go skipBecauseParentTaskWasSkipped: a parent skipped other than by its when."""
    rig = PipelineRig([
        {"name": "a", "results": [{"name": "r"}]},
        {"name": "g", "run_after": ["a"], "when": [{"input": "x", "operator": "in", "values": ["y"]}],
         "results": [{"name": "r"}]},
        {"name": "u", "run_after": ["g"], "refs": ["tasks.g.results.r"]},
        {"name": "v", "run_after": ["u"]},
    ]).begin()
    rig.finish("a-run")
    assert rig.task("u") == ("Skipped", "MissingResultsSkip")
    assert rig.task("v") == ("Skipped", "ParentTasksSkip")


def test_a_result_its_producer_did_not_give_fails_the_consuming_task_without_running_it() -> None:
    """Tekton fails the whole PipelineRun with InvalidTaskResultReference (CheckMissingResultReferences); doll
    fails the consuming task with that reason, naming the ref, and the run stops as for any failed task."""
    rig = PipelineRig([{"name": "a", "results": [{"name": "digest"}]},
                       {"name": "b", "run_after": ["a"], "refs": ["tasks.a.results.digest"]},
                       {"name": "fin", "is_finally": True, "refs": ["tasks.a.results.digest"]}]).begin()
    rig.finish("a-run")  # no results
    assert rig.task("b") == ("Failed", "InvalidTaskResultReference")
    assert "$(tasks.a.results.digest)" in rig.message("b") and "did not give it" in rig.message("b")
    assert rig.ops("b-run") == ["skip"]
    # a finally task whose result is missing is skipped (IsFinallySkipped: MissingResultsSkip)
    assert rig.task("fin") == ("Skipped", "MissingResultsSkip")
    assert rig.state.outcome == "Failed"


def test_ref_values_are_written_into_each_step_s_channel_before_its_first_step_is_released(tmp_path: Path) -> None:
    """docs/pipelines.md "Passing one Task's Results into the Parameters or when expressions of another"."""
    rig = PipelineRig([{"name": "a", "results": [{"name": "tags", "type": "array"}, {"name": "id"}]},
                       {"name": "b", "run_after": ["a"], "refs": ["tasks.a.results.tags", "tasks.a.results.id"]}],
                      steps={"b": ["one", "two"]}, channels=tmp_path).begin()
    rig.finish("a-run", results={"tags": '["x", "y"]', "id": "42"})
    for step in ("b-one", "b-two"):
        assert value(tmp_path, step, "tasks.a.results.tags") == ["x", "y"]
        assert value(tmp_path, step, "tasks.a.results.id") == "42"
        mode = os.stat(tmp_path / f"step-{step}" / "values" / "tasks.a.results.id").st_mode
        assert stat.S_IMODE(mode) == 0o644
    started = next(i for i, r in enumerate(rig.journal) if r["ev"] == "task_started" and r["task"] == "b")
    released = next(i for i, r in enumerate(rig.journal) if r["ev"] == "released" and r["step"] == "b-one")
    assert started < released


def test_finally_tasks_see_each_task_s_status_and_the_aggregate_status(tmp_path: Path) -> None:
    """docs/pipelines.md "Using Execution Status of pipelineTask" and "Using Aggregate Execution Status of All
    Tasks": $(tasks.<t>.status) Succeeded | Failed | None, $(tasks.status) Failed when one failed."""
    refs = ["tasks.ok.status", "tasks.bad.status", "tasks.never.status", "tasks.status"]
    rig = PipelineRig([{"name": "ok"}, {"name": "bad"}, {"name": "never", "run_after": ["bad"]},
                       {"name": "report", "is_finally": True, "refs": refs},
                       {"name": "on-failure", "is_finally": True,
                        "when": [{"input": "$(tasks.status)", "operator": "in", "values": ["Failed"]}]},
                       {"name": "on-success", "is_finally": True,
                        "when": [{"input": "$(tasks.bad.status)", "operator": "in", "values": ["Succeeded"]}]}],
                      channels=tmp_path).begin()
    rig.finish("ok-run")
    rig.finish("bad-run", exit_code=2)
    assert [value(tmp_path, "report-run", r) for r in refs] == ["Succeeded", "Failed", "None", "Failed"]
    assert rig.running() == {"report-run", "on-failure-run"}
    assert rig.task("on-success") == ("Skipped", "WhenExpressionsSkip")


def test_a_matrixed_task_s_result_is_the_array_of_its_copies_values_and_its_status_aggregates(tmp_path: Path) -> None:
    """docs/matrix.md "Results from fanned out Matrixed PipelineTasks": an array of the copies' string values."""
    refs = ["tasks.build.results.digest", "tasks.build.status"]
    rig = PipelineRig([{"name": "build-0", "matrix": "build", "results": [{"name": "digest"}]},
                       {"name": "build-1", "matrix": "build", "results": [{"name": "digest"}]},
                       {"name": "push", "run_after": ["build-0", "build-1"], "refs": refs}],
                      channels=tmp_path).begin()
    assert rig.running() == {"build-0-run", "build-1-run"}
    rig.finish("build-1-run", results={"digest": "sha-1"})
    rig.finish("build-0-run", results={"digest": "sha-0"})
    assert value(tmp_path, "push-run", refs[0]) == ["sha-0", "sha-1"]  # in plan order, not finishing order
    assert value(tmp_path, "push-run", refs[1]) == "Succeeded"


def test_pipeline_results_come_from_task_results_and_one_that_cannot_be_computed_is_left_out() -> None:
    """docs/pipelines.md "Emitting results from a Pipeline": a result from a task that gave none is not emitted."""
    rig = PipelineRig([{"name": "a", "results": [{"name": "x"}, {"name": "l", "type": "array"}]},
                       {"name": "b", "when": [{"input": "1", "operator": "in", "values": ["2"]}],
                        "results": [{"name": "y"}]}],
                      pipeline={"results": [
                          {"name": "sx", "text": "x=$(tasks.a.results.x)"},
                          {"name": "al", "type": "array", "text": "$(tasks.a.results.l[*])"},
                          {"name": "ob", "type": "object", "fields": [["k", "$(tasks.a.results.x)"]]},
                          {"name": "gone", "text": "$(tasks.b.results.y)"}]}).begin()
    rig.finish("a-run", results={"x": "1", "l": '["p", "q"]'})
    assert rig.state.pipeline_results == {"sx": "x=1", "al": '["p", "q"]', "ob": '{"k": "1"}'}
    assert "result 'gone' left out: $(tasks.b.results.y)" in rig.state.message
    assert rig.state.status()["pipeline_results"] == ["al", "ob", "sx"]


def test_the_status_lists_each_task_and_a_replayed_journal_gives_the_same_state() -> None:
    """Every task record is a typed journal record (contracts/journal.py); replay reproduces the run."""
    rig = PipelineRig(DIAMOND + [{"name": "fin", "is_finally": True}]).begin()
    rig.finish("a-run")
    rig.finish("b-run", exit_code=1)
    rig.finish("c-run")
    rig.finish("fin-run")
    tasks = {t["name"]: (t["phase"], t["outcome"], t["reason"]) for t in rig.state.status()["tasks"]}
    assert tasks == {"a": ("done", "Succeeded", "Succeeded"), "b": ("done", "Failed", "Failed"),
                     "c": ("done", "Succeeded", "Succeeded"), "d": ("done", "Skipped", "StoppingSkip"),
                     "fin": ("done", "Succeeded", "Succeeded")}
    replayed = RunState.from_plan(rig.plan)
    for rec in rig.journal:
        replayed.apply(parse_record(dict(rec)))
    assert replayed.status() == rig.state.status()


def test_a_hand_off_in_a_pod_of_256_tasks_stays_well_under_a_few_milliseconds() -> None:
    """The most tasks a Pod holds (contracts.task_plans.MAX_TASKS): a matrix of 254 copies between two tasks.
    Each copy's end is a hand-off the supervisor decides on the whole DAG; it must not grow with the tasks
    squared (a lookup of a task by name and the refs' pattern were once rebuilt on every hand-off: 2.6 ms)."""
    copies = 254
    tasks = [{"name": "first"}, *({"name": f"m-{i}", "run_after": ["first"], "matrix": "m"} for i in range(copies)),
             {"name": "last", "run_after": [f"m-{i}" for i in range(copies)]}]
    rig = PipelineRig(tasks).begin()
    rig.finish("first-run")
    assert len(rig.running()) == copies
    took = []
    for i in range(copies):
        started = time.perf_counter()
        rig.finish(f"m-{i}-run")
        took.append(time.perf_counter() - started)
    assert rig.running() == {"last-run"}
    assert statistics.median(took) < 0.005, f"median hand-off {statistics.median(took) * 1000:.2f} ms"
