"""Watching a playing pod from the host: the supervisor's journal, the containers' states from podman,
and their logs from podman's k8s-file log files.

Why the journal: it is the supervisor's own durable record (fsync'd at every event: released, started,
held, finished, sidecar ready...), and `doll run` keeps the pod's volumes on the host, so it can replay
it with the supervisor's own reducer (`RunState.apply`) and get exactly what `GET /status` would say,
from the first event on.  `/status` itself only answers once the supervisor has imported its HTTP
stack (~1 s, kept off step 0's path), and a short run can be over before that.  Container states
alone cannot tell a step that waits in its wrapper from one that runs; they still decide when the pod
is over (every container exited) and give exit codes if the supervisor died.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator import podman
from generator.tailing import LogTail
from supervisor.plans import Plan, PlanError
from supervisor.states import RunState


def fetching(port: int, path: str, timeout: float = 1.0) -> bytes | None:
    """GET http://127.0.0.1:PORT/PATH, or None when nothing answers (yet)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, OSError, ValueError):
        return None


def fetching_status(port: int) -> dict[str, Any] | None:
    body = fetching(port, "/status")
    if body is None:
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _label(container: str) -> str:
    for prefix in ("step-", "sidecar-"):
        if container.startswith(prefix):
            return container[len(prefix):] if prefix == "step-" else "sidecar " + container[len(prefix):]
    return container


@dataclass
class PodWatch:
    pod: str
    tails: dict[str, LogTail] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)  # container -> created | running | exited

    def refreshing_states(self) -> dict[str, str]:
        self.states = podman.pod_containers(self.pod)
        new = [name for name in self.states if name not in self.tails]
        if new:
            for state in podman.inspecting([f"{self.pod}-{name}" for name in new]):
                name = state.name[len(self.pod) + 1:]
                if state.log_path:
                    self.tails[name] = LogTail(_label(name), Path(state.log_path))
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
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return None
        self.offset += len(chunk)
        lines = (self.buffer + chunk).split(b"\n")
        self.buffer = lines.pop()
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "ev" in record:
                self.state.apply(record)
        return self.state.to_status() if self.state.records else None
