"""A step whose container exited while the supervisor still waits for it, ended from outside.

A wrapper killed before it reports (SIGKILLed 0.29 s after its start, before its `hello`; or OOM-killed
while it waits for its turn) leaves no post file and sends no `finished`: the supervisor, which released
the step, waits for it until the task's timeout (an hour by default).  podman's container states show it
at once: the step's container has exited.  So when a released (or running) step's container has exited
without a post file for STALL_GRACE_SECONDS while the supervisor runs and the run has no outcome,
`doll run` says so, cancels the run through the supervisor (`doll ctl cancel`, which skips the rest and
stops the sidecars), and reports that step failed with its container's exit code and the task Failed.
A step whose container has not started yet, or that waits for its turn, is left alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from contracts.layout import SUPERVISOR_CONTAINER
from contracts.records import read_post
from generator.local import podman
from generator.local.progress import Display
from generator.local.views import RunView

__all__ = ["STALL_GRACE_SECONDS", "StallWatch"]

STALL_GRACE_SECONDS = 5.0  # the supervisor's time to hear of the step's end in any other way
_EXITED = ("exited", "stopped", "dead")
_WAITED_ON = ("released", "running")  # the supervisor waits for its wrapper's word


@dataclass
class StallWatch:
    pod: str
    display: Display
    steps_dir: Path | None
    seen: dict[str, float] = field(default_factory=dict)  # step -> when first seen exited while waited on
    ended: dict[str, int] = field(default_factory=dict)  # step -> its container's exit code: the run was ended

    def checking(self, states: dict[str, str], view: RunView, now: float) -> None:
        """Given the pod's container states and the supervisor's view: end the run if a step stalls it."""
        if view.outcome or self.ended or states.get(SUPERVISOR_CONTAINER) != "running":
            return
        for step in view.steps:
            if step.phase not in _WAITED_ON or states.get(f"step-{step.name}") not in _EXITED or \
                    (self.steps_dir is not None and read_post(str(self.steps_dir), step.name) is not None):
                self.seen.pop(step.name, None)
                continue
            if now - self.seen.setdefault(step.name, now) >= STALL_GRACE_SECONDS:
                self._ending(step.name)
                return

    def _ending(self, step: str) -> None:
        try:
            code = podman.inspecting([f"{self.pod}-step-{step}"])[0].exit_code
        except (podman.PodmanError, IndexError):
            code = 137
        self.ended[step] = code
        self.display.note(f"step {step}: its container exited {code} without a word to the supervisor, which "
                          f"would wait for it until the task's timeout; ending the run")
        try:
            podman.podman("exec", f"{self.pod}-{SUPERVISOR_CONTAINER}", "doll", "ctl", "cancel", timeout=30)
        except podman.PodmanError as exc:
            self.display.note(f"cancelling the run through the supervisor failed: {exc}")

    def judging(self, view: RunView) -> RunView:
        """The view with each step the run was ended for failed, and the task Failed, saying why."""
        for step, code in self.ended.items():
            current = next((s for s in view.steps if s.name == step), None)
            if current is not None:
                view = view.with_step(dataclasses.replace(current, phase="done", outcome="failed", reason="Error",
                                                          exit_code=code))
        if self.ended:
            names = ", ".join(self.ended)
            view = dataclasses.replace(view, outcome="Failed", reason="StepContainerFailed",
                                       message=f"step {names}: its container exited without a word to the "
                                               "supervisor; the run was ended")
        return view
