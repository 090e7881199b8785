"""The supervisor's view checked against what the containers left (generator/local/cross_checking.py): post
files, the containers' exit codes, termination messages."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.records import StepRecord, post_json
from generator.local.podman import ContainerState
from generator.local.summarizing import final_table
from generator.local.views import RunView, StepView
from generator.local.cross_checking import disagreements, from_containers, from_post_files, results_as_reported


def _exited(name: str, code: int) -> ContainerState:
    return ContainerState(f"p-step-{name}", "exited", code, "", "", "")


def _done(name: str, code: int = 0, **more: object) -> StepView:
    return StepView(name, "done", "succeeded" if code == 0 else "failed", "Completed" if code == 0 else "Error",
                    code, 1000.0, 1001.0, **more)  # type: ignore[arg-type]


def test_steps_the_supervisor_did_not_see_end_get_times_and_codes_from_their_post_files(tmp_path: Path) -> None:
    for name, code in (("s3", 0), ("s4", 0)):
        (tmp_path / f"step-{name}").mkdir()
        (tmp_path / f"step-{name}" / "out").write_bytes(post_json(StepRecord(
            name=name, exit_code=code, reason="Completed", started_at=1002.5, finished_at=1003.25, failed=False,
            results={"r": "v"})))
    view = RunView(steps=(_done("s1"), _done("s2"), StepView("s3", "running", started_at=1002.5), StepView("s4")))
    filled = from_post_files(view, tmp_path)
    s4 = filled.steps[3]
    assert (s4.phase, s4.outcome, s4.reason, s4.exit_code) == ("done", "succeeded", "Completed", 0)
    assert (s4.started_at, s4.finished_at, s4.results) == (1002.5, 1003.25, {"r": "v"})
    assert filled.steps[2].finished_at == 1003.25 and filled.steps[:2] == view.steps[:2]
    row = next(line for line in final_table(filled).splitlines() if line.startswith("s4"))
    assert "0.750s" in row and " - " not in row


def test_a_step_whose_container_exited_non_zero_is_not_reported_succeeded() -> None:
    view = RunView(steps=(_done("s1"), _done("s2")), outcome="Succeeded")
    checked, said = disagreements(view, {"s1": _exited("s1", 0), "s2": _exited("s2", 125)})
    assert checked.outcome == "Failed" and checked.steps[1].exit_code == 125 and checked.steps[1].reason == "Error"
    assert said == ["step s2: the supervisor recorded Completed (exit 0), but its container exited 125"]
    assert checked.message == said[0] and checked.steps[0] == view.steps[0]


def test_a_failed_step_or_one_continuing_on_error_is_no_disagreement() -> None:
    view = RunView(steps=(_done("s1", 7), _done("s2", 3)), outcome="Failed")
    checked, said = disagreements(view, {"s1": _exited("s1", 7), "s2": _exited("s2", 0)})
    assert (checked, said) == (view, [])


def test_a_step_nothing_else_reported_gets_its_containers_exit_code() -> None:
    view = RunView(steps=(_done("s1"), StepView("s2")))
    filled = from_containers(view, {"s2": _exited("s2", 4)})
    assert (filled.steps[1].exit_code, filled.steps[1].reason) == (4, "Error")


def test_results_that_did_not_fit_the_termination_message_are_not_listed(tmp_path: Path) -> None:
    (tmp_path / "step-big").write_text(json.dumps([{"key": "ExitCode", "value": "123", "type": 3},
                                                   {"key": "Message", "value": "results (r) make...", "type": 3}]))
    (tmp_path / "step-small").write_text(json.dumps([{"key": "s", "value": "ok", "type": 1},
                                                     {"key": "StartedAt", "value": "x", "type": 3}]))
    (tmp_path / "step-silent").write_text("")  # no message written: what the supervisor says stands
    view = RunView(steps=(_done("big", 123, results={"r": "x" * 5000}), _done("small", results={"s": "ok"}),
                          _done("silent", results={"q": "1"})))
    files = {f"step-{s.name}": tmp_path / f"step-{s.name}" for s in view.steps}
    reported = results_as_reported(view, files)
    assert [s.results for s in reported.steps] == [{}, {"s": "ok"}, {"q": "1"}]
    assert "results:" in final_table(reported) and " r = " not in final_table(reported)
