"""Debug holds on any step of any task: two branches held at once, each addressed by its step's name."""

from __future__ import annotations

from contracts import wire
from supervisor.ctl import render
from pipeline_rig import PipelineRig


def test_two_steps_held_in_two_branches_are_each_continued_by_name() -> None:
    rig = PipelineRig([{"name": "left"}, {"name": "right"}, {"name": "end", "run_after": ["left", "right"]}],
                      breakpoints=("left-run", "right-run")).begin()
    assert {s.name for s in rig.state.steps if s.phase == "held"} == {"left-run", "right-run"}
    text = render(rig.state.to_status())
    assert "HELD: step left-run (beforeStep)" in text and "HELD: step right-run (beforeStep)" in text
    unnamed = rig.runner.control(wire.Ctl(action="continue", step=""))
    assert not unnamed.ok and "2 steps are held (left-run, right-run): name one" in unnamed.message
    assert rig.runner.control(wire.Ctl(action="continue", step="right-run")).ok
    assert rig.running() == {"right-run"} and rig.state.step("left-run").phase == "held"  # type: ignore[union-attr]
    assert rig.runner.control(wire.Ctl(action="fail", step="left-run")).ok
    rig.finish("right-run")
    assert rig.task("left") == ("Failed", "Failed") and rig.task("end") == ("Skipped", "StoppingSkip")
