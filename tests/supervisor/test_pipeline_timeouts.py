"""A pipeline's timeouts (docs/pipelineruns.md "Configuring a failure timeout"), a task's own timeout, cancel."""

from __future__ import annotations

from contracts import wire
from pipeline_rig import PipelineRig


def test_a_task_over_its_own_timeout_is_stopped_its_later_steps_skipped_and_it_ends_TimedOut() -> None:
    """The pipeline task's `timeout` is its TaskRun's: a timed-out TaskRun fails, so the run stops."""
    rig = PipelineRig([{"name": "a", "timeout_seconds": 5}, {"name": "b", "run_after": ["a"]},
                       {"name": "other"}], steps={"a": ["one", "two"]}).begin()
    rig.timers.advance(5)
    assert rig.ops("a-one")[-1] == "stop" and rig.state.step("a-one").stopping == "TimeoutExceeded"  # type: ignore[union-attr]
    rig.runner.on_message(rig.conns["a-one"], wire.Finished(
        name="a-one", exit_code=137, reason="TimeoutExceeded", started_at=995.0, finished_at=rig.timers.now))
    rig.timers.advance(0)
    assert rig.state.step("a-two").outcome == "skipped"  # type: ignore[union-attr]
    assert rig.task("a") == ("TimedOut", "TaskRunTimeout") and "5s" in rig.message("a")
    assert rig.task("b") == ("Skipped", "StoppingSkip")
    rig.finish("other-run")
    assert (rig.state.outcome, rig.state.reason) == ("Failed", "Failed")


def test_the_tasks_timeout_stops_running_dag_tasks_skips_pending_ones_and_finally_still_runs() -> None:
    """timeouts.tasks: running DAG tasks time out, pending ones are TasksTimedOutSkip, then finally runs."""
    rig = PipelineRig([{"name": "a"}, {"name": "b", "run_after": ["a"]}, {"name": "fin", "is_finally": True}],
                      pipeline={"tasks_timeout_seconds": 10}).begin()
    rig.timers.advance(10)
    assert rig.ops("a-run")[-1] == "stop"
    rig.finish("a-run", exit_code=143)
    assert rig.task("a") == ("TimedOut", "TaskRunTimeout") and "tasks timeout of 10s" in rig.message("a")
    assert rig.task("b")[0] == "Skipped"  # StoppingSkip comes first in Tekton's order: a timed out = failed
    assert rig.running() == {"fin-run"}
    rig.finish("fin-run")
    assert rig.task("fin") == ("Succeeded", "Succeeded") and rig.state.outcome == "Failed"


def test_a_task_whose_turn_comes_after_the_tasks_timeout_is_TasksTimedOutSkip() -> None:
    """pipelinerunresolution.go skipBecausePipelineRunTasksTimeoutReached."""
    rig = PipelineRig([{"name": "a", "on_error": "continue"}, {"name": "b", "run_after": ["a"]}],
                      pipeline={"tasks_timeout_seconds": 10}).begin()
    rig.timers.advance(10)
    rig.finish("a-run", exit_code=143)
    assert rig.task("a") == ("TimedOut", "FailureIgnored")
    assert rig.task("b") == ("Skipped", "TasksTimedOutSkip")


def test_the_finally_timeout_counts_from_the_first_finally_task_s_start() -> None:
    """timeouts.finally: running finally tasks time out, pending ones are FinallyTimedOutSkip."""
    rig = PipelineRig([{"name": "a"}, {"name": "f1", "is_finally": True},
                       {"name": "f2", "is_finally": True, "run_after": ["f1"]}],
                      pipeline={"finally_timeout_seconds": 3}).begin()
    rig.timers.advance(100)  # the DAG's time does not count
    rig.finish("a-run")
    rig.timers.advance(3)
    assert rig.ops("f1-run")[-1] == "stop"
    rig.finish("f1-run", exit_code=143)
    assert rig.task("f1") == ("TimedOut", "TaskRunTimeout")
    assert rig.task("f2") == ("Skipped", "FinallyTimedOutSkip")
    assert rig.state.finished


def test_the_pipeline_timeout_cancels_everything_and_the_run_is_TimedOut() -> None:
    """timeouts.pipeline: PipelineRunTimeout; running tasks are cancelled, the rest PipelineTimedOutSkip."""
    rig = PipelineRig([{"name": "a"}, {"name": "b", "run_after": ["a"]}, {"name": "fin", "is_finally": True}],
                      timeout_seconds=30).begin()
    rig.timers.advance(30)
    rig.finish("a-run", exit_code=143)
    assert rig.task("a") == ("Cancelled", "TaskRunCancelled")
    assert rig.task("b") == ("Skipped", "PipelineTimedOutSkip") and rig.task("fin")[1] == "PipelineTimedOutSkip"
    assert (rig.state.outcome, rig.state.reason) == ("TimedOut", "PipelineRunTimeout")
    assert rig.state.message == "PipelineRun 'pr-1' failed to finish within 30s"


def test_a_cancelled_pipeline_is_Cancelled_and_its_tasks_not_started_are_skipped() -> None:
    rig = PipelineRig([{"name": "a"}, {"name": "b", "run_after": ["a"]}]).begin()
    rig.runner.cancel("Cancelled", "cancelled through doll ctl")
    rig.finish("a-run", exit_code=143)
    assert rig.task("a") == ("Cancelled", "TaskRunCancelled")
    assert rig.task("b") == ("Skipped", "GracefullyCancelledSkip")
    assert (rig.state.outcome, rig.state.reason) == ("Cancelled", "Cancelled")
    assert rig.ops("b-run") == ["skip"]
