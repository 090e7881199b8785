"""Watching a playing pod from the host: the supervisor's journal, the containers' states from podman,
and their logs from podman's k8s-file log files.

Why the journal: it is the supervisor's own durable record (written at every event: released, started,
held, finished, sidecar ready...), and `doll run` keeps the pod's volumes on the host, so it can replay
it with the supervisor's own reducer (`RunState.apply`) and get exactly what `GET /status` would say,
from the first event on.  `/status` itself only answers once the supervisor has imported its HTTP
stack (~1 s, kept off step 0's path), and a short run can be over before that.  Container states
alone cannot tell a step that waits in its wrapper from one that runs; they still decide when the pod
is over (every container exited) and give exit codes if the supervisor died.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.journal import parse_record
from contracts.errors import InputError
from contracts.layout import SUPERVISOR_CONTAINER
from generator.local import podman
from generator.local.progress import Display
from generator.local.views import RunView, StepView, view_from_status
from generator.local.restarting import SupervisorRestarts
from generator.local.stalling import StallWatch
from generator.local.tailing import LogTail
from contracts.plans import Plan, PlanError
from supervisor.states import RunState

__all__ = ["END_GRACE_SECONDS", "JournalWatch", "POLL_SECONDS", "PodWatch", "Watching", "fetching"]


def fetching(port: int, path: str, timeout: float = 1.0) -> bytes | None:
    """GET http://127.0.0.1:PORT/PATH, or None when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _label(container: str, labels: dict[str, str]) -> str:
    if container in labels:
        return labels[container]
    for prefix in ("step-", "sidecar-"):
        if container.startswith(prefix):
            return container[len(prefix):] if prefix == "step-" else "sidecar " + container[len(prefix):]
    return container


@dataclass
class PodWatch:
    pod: str
    labels: dict[str, str] = field(default_factory=dict)  # container -> its log lines' label, when not its name
    tails: dict[str, LogTail] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)  # container -> created | running | exited

    def refreshing_states(self) -> dict[str, str]:
        self.states = podman.pod_containers(self.pod)
        new = [name for name in self.states if name not in self.tails]
        if new:
            for state in podman.inspecting([f"{self.pod}-{name}" for name in new]):
                name = state.name[len(self.pod) + 1:]
                if state.log_path:
                    self.tails[name] = LogTail(_label(name, self.labels), Path(state.log_path))
        return self.states

    @property
    def over(self) -> bool:
        """Every container of the pod has exited (or the pod is gone)."""
        return all(state in ("exited", "stopped", "dead") for state in self.states.values())

    def reading_logs(self, hidden: frozenset[str] = frozenset(), final: bool = False) -> list[tuple[str, str]]:
        """(label, line) written since the last call by every container but `hidden`, in time order;
        `final`: the pod is over, so unfinished last lines are complete too."""
        timed = [(at, tail.label, line) for name, tail in self.tails.items() if name not in hidden
                 for at, line in (tail.flushing() if final else tail.reading())]
        timed.sort(key=lambda t: t[0])
        return [(label, line) for _, label, line in timed]

    def behind(self, hidden: frozenset[str] = frozenset()) -> bool:
        """A log has more to read right now (each call reads a bounded part of each)."""
        return any(tail.behind for name, tail in self.tails.items() if name not in hidden)

    def showing_logs(self, display: Display, hidden: frozenset[str], final: bool = False) -> None:
        """Show what the containers wrote since the last call, a bounded part at a time."""
        while True:
            for label, line in self.reading_logs(hidden, final):
                display.log(label, [line])
            if not self.behind(hidden):
                return


@dataclass
class JournalWatch:
    """The supervisor's journal (`<doll-run volume>/journal.jsonl`) replayed as it grows."""

    run_volume: Path
    state: RunState | None = None
    offset: int = 0
    buffer: bytes = b""

    def reading(self) -> dict[str, Any] | None:
        """The run as /status shows it, or None before the plan and the first record exist."""
        if self.state is None:
            try:
                self.state = RunState.from_plan(Plan.from_json((self.run_volume / "plan.json").read_text()))
            except (OSError, PlanError):
                return None
        try:
            with open(self.run_volume / "journal.jsonl", "rb") as f:
                if os.fstat(f.fileno()).st_size < self.offset:  # a restarted supervisor cut a torn last write
                    self.offset, self.buffer = self.offset - len(self.buffer), b""
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return None
        self.offset += len(chunk)
        lines = (self.buffer + chunk).split(b"\n")
        self.buffer = lines.pop()
        for line in lines:
            try:
                record = parse_record(json.loads(line))
            except (ValueError, RecursionError, InputError):
                continue  # a torn last line, or a record the supervisor's replay sets aside too
            self.state.apply(record)
        return self.state.to_status() if self.state.records else None


POLL_SECONDS = 0.25
END_GRACE_SECONDS = 90.0  # after the supervisor decided: sidecars stopping, the supervisor exiting


def _debug_commands(pod: str, step: str) -> list[str]:
    container = f"{pod}-step-{step}"
    return [f"open a shell:  podman exec -it {container} sh",
            f"continue:      podman exec {container} /doll/bin/entrypoint debug continue",
            f"fail it:       podman exec {container} /doll/bin/entrypoint debug fail-continue"]


@dataclass
class Watching:
    pod: str
    port: int
    display: Display
    steps: list[str]
    run_volume: Path  # the host directory behind /doll/run: plan.json and the journal
    release_linger: bool = True  # scrape /metrics once the run is over, so the supervisor exits now
    verbose: bool = False  # show the supervisor's own (JSON) log lines too
    steps_volume: Path | None = None  # the host directory behind /tekton/steps: the wrappers' post files
    labels: dict[str, str] = field(default_factory=dict)  # container -> label of its log lines (`task/step`)

    def run(self) -> RunView:
        watch, journal = PodWatch(self.pod, self.labels), JournalWatch(self.run_volume)
        hidden = frozenset() if self.verbose else frozenset({SUPERVISOR_CONTAINER})
        view = RunView(steps=tuple(StepView(name) for name in self.steps))
        announced_holds: set[str] = set()
        restarts = SupervisorRestarts(self.pod, self.display)
        stalls = StallWatch(self.pod, self.display, self.steps_volume)
        decided_at: float | None = None
        last_states = 0.0
        while True:
            now = time.monotonic()
            if now - last_states >= (0.5 if decided_at is not None else 1.0):
                restarts.checking(watch.refreshing_states(), bool(view.outcome), now)
                stalls.checking(watch.states, view, now)
                last_states = now
            watch.showing_logs(self.display, hidden)
            status = journal.reading()
            if status is not None:
                view = view_from_status(status)
                self.display.show(view)
                for step in view.steps:
                    if step.phase == "held" and step.name not in announced_holds:
                        announced_holds.add(step.name)
                        self.display.note(f"step {step.name} is held ({step.hold_reason}):")
                        for line in _debug_commands(self.pod, step.name):
                            self.display.note("  " + line)
            if view.outcome and decided_at is None:
                decided_at = now
            if decided_at is not None and self.release_linger and all(
                    c.phase in ("stopped", "failed") for c in view.sidecars):
                fetching(self.port, "/metrics")  # the scrape after the end: the supervisor stops lingering
            if watch.states and watch.over:
                break
            if decided_at is not None and now - decided_at > END_GRACE_SECONDS:
                self.display.note(f"the pod did not complete {END_GRACE_SECONDS:.0f} s after the task ended")
                break
            time.sleep(POLL_SECONDS)
        watch.showing_logs(self.display, hidden, final=True)
        status = journal.reading()
        if status is not None:
            view = view_from_status(status)
            self.display.show(view)
        if not view.outcome and not self.verbose:  # something went wrong: the supervisor's last words
            for line in podman.logs(f"{self.pod}-doll-supervisor").splitlines()[-20:]:
                self.display.log(SUPERVISOR_CONTAINER, [line])
        return stalls.judging(view)
