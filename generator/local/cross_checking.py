"""The supervisor's view of the run checked against what the containers themselves left, once the pod is over.

The supervisor's journal is what `doll run` shows, but it is not the only record, and it can be short or
wrong: a supervisor killed mid-run never hears the later steps (each wrapper still writes its post file,
`contracts.records.read_post`); a wrapper can fail after reporting success (its step volume full: exit
125, `cannot record the outcome`), which only its container's exit code says; and Tekton takes a step's
results from its termination message, which holds none when they did not fit (exit 123), though the
wrapper reported them.  So, in order: the post files fill in what the supervisor did not say; the
containers' exit codes fill in the rest and overrule a success they contradict (saying so); the results
are those of the termination message.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from contracts.outcome import judge
from contracts.records import StepRecord, read_post
from generator.local import podman
from generator.local.podman import ContainerState
from generator.local.views import RunView, StepView

__all__ = ["TASK_RESULT", "disagreements", "from_containers", "from_post_files", "results_as_reported", "step_states"]

TASK_RESULT = 1  # Tekton's TaskRunResultType in a termination message entry
def _from_record(step: StepView, record: StepRecord) -> StepView:
    # the one outcome rule, as the wrapper judged its own end (a Cancelled wrapper was stopped by the run's cancel)
    outcome = judge(record.reason, record.exit_code, run_cancelled=True).outcome
    return dataclasses.replace(
        step, phase="done", outcome=step.outcome or outcome, reason=step.reason or record.reason,
        exit_code=record.exit_code if step.exit_code is None else step.exit_code,
        started_at=record.started_at if step.started_at is None else step.started_at,
        finished_at=record.finished_at if step.finished_at is None else step.finished_at,
        results=step.results or dict(record.results))


def from_post_files(view: RunView, steps_dir: Path | None) -> RunView:
    """Each step the supervisor did not see end (no exit code or no times) completed from its post file."""
    if steps_dir is None:
        return view
    for step in view.steps:
        if step.exit_code is not None and step.finished_at is not None and \
                (step.started_at is not None or step.outcome == "skipped"):
            continue
        record = read_post(str(steps_dir), step.name)
        if record is not None:
            view = view.with_step(_from_record(step, record))
    return view


def from_containers(view: RunView, states: dict[str, ContainerState]) -> RunView:
    """Exit codes, from the step containers (`step name -> state`), of steps nothing else reported."""
    for step in view.steps:
        state = states.get(step.name)
        if step.exit_code is None and state is not None and state.status == "exited":
            view = view.with_step(dataclasses.replace(
                step, phase="done", exit_code=state.exit_code,
                reason=step.reason or ("Completed" if state.exit_code == 0 else "Error")))
    return view


def disagreements(view: RunView, states: dict[str, ContainerState]) -> tuple[RunView, list[str]]:
    """A step recorded as exiting 0 whose container exited non-zero failed (its wrapper could not finish its
    job): so marked, and a Succeeded task made Failed; each disagreement said in one line."""
    said: list[str] = []
    for step in view.steps:
        state = states.get(step.name)
        if state is None or state.status != "exited" or state.exit_code == 0 or step.exit_code not in (0, None):
            continue
        said.append(f"step {step.name}: the supervisor recorded {step.reason or step.outcome or 'no end'} "
                    f"(exit {step.exit_code}), but its container exited {state.exit_code}")
        view = view.with_step(dataclasses.replace(step, phase="done", outcome="failed", reason="Error",
                                                  exit_code=state.exit_code))
    if said and view.outcome == "Succeeded":
        view = dataclasses.replace(view, outcome="Failed", reason="StepContainerFailed",
                                   message="; ".join(said))
    return view, said


def _termination_results(path: Path) -> dict[str, str] | None:
    """The task results in a termination message, or None when it holds no readable message."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(entries, list):
        return None
    return {str(e["key"]): str(e.get("value", "")) for e in entries
            if isinstance(e, dict) and e.get("type") == TASK_RESULT and "key" in e}


def results_as_reported(view: RunView, termination_files: dict[str, Path]) -> RunView:
    """Each step's results as Tekton would take them: from its termination message (`container name ->
    host file`), when it wrote one; a step whose results did not fit reports none."""
    for step in view.steps:
        path = termination_files.get(f"step-{step.name}")
        found = _termination_results(path) if path is not None else None
        if found is not None and found != step.results:
            view = view.with_step(dataclasses.replace(step, results=found))
    return view


def step_states(pod: str, steps: list[str]) -> dict[str, ContainerState]:
    """Step name -> its container's state (podman inspect); {} when podman cannot say."""
    try:
        states = podman.inspecting([f"{pod}-step-{name}" for name in steps])
    except podman.PodmanError:
        return {}
    return {state.name[len(f"{pod}-step-"):]: state for state in states}
