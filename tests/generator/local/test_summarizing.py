"""What `doll run` prints at the end (generator/local/summarizing.py), from the run as the supervisor's own
reducer replays its journal records."""

from __future__ import annotations

from typing import Any

from generator.local.summarizing import RESULT_SHOWN_CHARS, final_table
from generator.local.views import view_from_status
from contracts.plans import Plan, StepPlan
from supervisor.states import RunState
from run_statuses import done, run, step, task


def _ended(results: list[dict[str, str]]) -> str:
    """The final table of a run whose steps s0, s1... ended reporting these results, in order."""
    state = RunState.from_plan(Plan(steps=tuple(StepPlan(f"s{i}", i, f"step-s{i}") for i in range(len(results)))))
    at = 1_795_937_716.0
    records: list[dict[str, Any]] = [{"ev": "run", "at": at}]
    for i, step_results in enumerate(results):
        records += [{"ev": "released", "step": f"s{i}", "at": at + i, "handoff": None},
                    {"ev": "finished", "step": f"s{i}", "at": at + i + 0.5, "exit_code": 0, "reason": "Completed",
                     "outcome": "succeeded", "started_at": at + i, "finished_at": at + i + 0.5,
                     "results": step_results, "message": ""}]
    records.append({"ev": "run_finished", "at": at + len(results), "outcome": "Succeeded", "reason": "Succeeded"})
    for record in records:
        state.apply(record)
    return final_table(view_from_status(state.to_status()))


def test_the_task_results_follow_the_table_each_as_the_last_step_that_ended_saw_it() -> None:
    # as in examples/hello-taskrun.yaml: `measure` writes page-size, `report` ends seeing it too
    text = _ended([{}, {"page-size": "16"}, {"page-size": "16", "digest": "sha256:ab"}, {"page-size": "17"}])
    lines = text.splitlines()
    assert lines[0].split() == ["STEP", "START", "DURATION", "EXIT", "REASON"] and lines[4].startswith("s3 ")
    assert lines[5:] == ["task: Succeeded", "results:", "  digest = sha256:ab", "  page-size = 17"]


def test_a_run_without_results_ends_with_its_outcome() -> None:
    assert _ended([{}, {}]).splitlines()[-1] == "task: Succeeded"


def test_a_value_with_a_newline_or_edge_spaces_is_shown_quoted() -> None:
    lines = _ended([{"commit": "0a1b2c\n", "empty": "", "padded": " x", "url": "https://example.com/r"}])
    assert lines.splitlines()[-4:] == ['  commit = "0a1b2c\\n"', '  empty = ""', '  padded = " x"',
                                       "  url = https://example.com/r"]


def test_a_very_long_value_is_shortened_and_says_so() -> None:
    value = "x" * 5000
    last = _ended([{"sbom": value}]).splitlines()[-1]
    assert last == f"  sbom = {'x' * 200}... (shortened: 5000 characters in all)"


def _pipeline_table(**more: Any) -> list[str]:
    """The final table of a PipelineRun: fetch, then build (which failed) and lint (guarded out); report finally."""
    status = run(
        steps=[done("fetch", "clone", 0.0, 0.5, results={"commit": "0a1b"}),
               done("build", "compile", 1.0, 1.25, exit_code=2),
               step("build", "pack", "done", "skipped", "Skipped", index=1),
               step("lint", "vet", "done", "skipped", "Skipped"),
               done("report", "mail", 2.0, 2.5, results={"sent": "yes"})],
        tasks=[task("fetch", "done", "Succeeded", "Succeeded", started=0.0, finished=0.5, results=("commit",)),
               task("build", "done", "Failed", "Failed", 'step "compile" exited with code 2', 1.0, 1.25,
                    run_after=("fetch",)),
               task("lint", "done", "Skipped", "WhenExpressionsSkip", 'when "$(params.lint)" in ["yes"] is false',
                    run_after=("fetch",)),
               task("report", "done", "Succeeded", "Succeeded", started=2.0, finished=2.5, is_finally=True)],
        outcome="Failed", reason="Failed", **more)
    return final_table(view_from_status(status)).splitlines()


def test_a_pipeline_table_has_a_row_per_task_with_its_outcome_and_duration_and_its_steps_indented() -> None:
    lines = _pipeline_table()
    assert lines[0].split() == ["TASK", "/", "STEP", "START", "DURATION", "EXIT", "OUTCOME"]
    rows = [line.split() for line in lines[1:10]]
    assert [(r[0], r[2], r[-1]) for r in rows[:3]] == [("fetch", "0.500s", "Succeeded"),
                                                       ("clone", "0.500s", "Completed"),
                                                       ("build", "0.250s", "Failed")]
    assert rows[3][-2:] == ["2", "Error"] and rows[4][0] == "pack" and rows[4][-1] == "Skipped"
    assert lines[6].startswith("lint ") and lines[6].endswith("Skipped (WhenExpressionsSkip)")
    assert lines[7].startswith("  vet ") and lines[8].startswith("report (finally) ") and lines[9].startswith("  mail")
    assert lines[2].startswith("  clone ") and lines[1].startswith("fetch ")


def test_after_a_pipeline_table_come_its_outcome_why_each_task_did_not_succeed_and_each_task_s_results() -> None:
    assert _pipeline_table()[10:] == [
        "pipeline: Failed",
        '  build: Failed: step "compile" exited with code 2',
        '  lint: Skipped: when "$(params.lint)" in ["yes"] is false',
        "results of fetch:", "  commit = 0a1b",
        "results of report:", "  sent = yes"]


def test_the_pipeline_results_come_last_shortened_as_task_results_are() -> None:
    lines = _pipeline_table(pipeline_results=("commit", "log", "pending"),
                            pipeline_result_values={"commit": "0a1b", "log": "y" * 300})
    assert lines[-4:] == ["pipeline results:", "  commit = 0a1b",
                          f"  log = {'y' * RESULT_SHOWN_CHARS}... (shortened: 300 characters in all)",
                          "  pending (its value is not in the supervisor's status)"]
