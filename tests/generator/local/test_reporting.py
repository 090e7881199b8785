"""`doll run --report FILE` (generator/local/reporting.py): the run as JSON, a PipelineRun's tasks and results
included, from a RunStatus document as the supervisor writes it."""

from __future__ import annotations

import json
from pathlib import Path

from generator.local.reporting import writing_report
from generator.local.views import view_from_status
from run_statuses import AT, done, run, step, task


def test_the_report_holds_each_task_with_its_outcome_why_its_times_and_its_steps(tmp_path: Path) -> None:
    status = run(steps=[done("build", "compile", 0, 1), done("build", "pack", 1, 2, exit_code=3),
                        step("lint", "vet", "done", "skipped", "Skipped")],
                 tasks=[task("build", "done", "Failed", "Failed", 'step "pack" exited with code 3', 0, 2),
                        task("lint", "done", "Skipped", "WhenExpressionsSkip", 'when "$(params.lint)" in ["yes"]',
                             is_finally=True)],
                 outcome="Failed", reason="Failed")
    writing_report(str(tmp_path / "r.json"), "p", 1, 2.5, view_from_status(status))
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["pod"], report["exit_code"], report["outcome"]) == ("p", 1, "Failed")
    build, lint = report["tasks"]
    assert (build["name"], build["outcome"], build["reason"]) == ("build", "Failed", "Failed")
    assert build["message"] == 'step "pack" exited with code 3'
    assert (build["started_at"], build["finished_at"]) == (AT, AT + 2)
    assert build["steps"] == ["build-compile", "build-pack"] and lint["steps"] == ["lint-vet"]
    assert (lint["outcome"], lint["reason"], lint["is_finally"]) == ("Skipped", "WhenExpressionsSkip", True)
    assert [(s["name"], s["task"], s["exit_code"]) for s in report["steps"]] == [
        ("build-compile", "build", 0), ("build-pack", "build", 3), ("lint-vet", "lint", None)]


def test_the_report_holds_the_pipeline_results_in_full(tmp_path: Path) -> None:
    status = run([done("a", "s", 0, 1)], [task("a", "done", "Succeeded", "Succeeded")], "Succeeded",
                 pipeline_results=("sbom", "unsaid"), pipeline_result_values={"sbom": "x" * 5000})
    writing_report(str(tmp_path / "r.json"), "p", 0, 1.0, view_from_status(status))
    assert json.loads((tmp_path / "r.json").read_text())["pipeline_results"] == {"sbom": "x" * 5000, "unsaid": None}


def test_a_task_run_s_report_has_no_tasks_and_its_steps_as_before(tmp_path: Path) -> None:
    status = run([done("", "s0", 0, 1, results={"r": "v"})], [], "Succeeded")
    writing_report(str(tmp_path / "r.json"), "p", 0, 1.0, view_from_status(status))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["tasks"] == [] and report["pipeline_results"] == {}
    assert [(s["name"], s["results"]) for s in report["steps"]] == [("s0", {"r": "v"})]
