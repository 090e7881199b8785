"""What `doll run` prints at the end (generator/local/progress.py), from the run as the supervisor's own
reducer replays its journal records."""

from __future__ import annotations

from typing import Any

from generator.local.progress import final_table, view_from_status
from contracts.plans import Plan, StepPlan
from supervisor.states import RunState


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
