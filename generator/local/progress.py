"""What `doll run` shows: the run as read from the supervisor's /status, live or as plain lines, and
the final table with the task's results.

On a terminal the step/sidecar block is redrawn in place under the streamed logs; otherwise each
change is printed once as a plain line (`doll: step build started`), which is what CI logs want.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

__all__ = ["Display", "RESULT_SHOWN_CHARS", "RunView", "SidecarView", "StepView", "final_table", "task_results",
           "view_from_status"]


@dataclass(frozen=True)
class StepView:
    name: str
    phase: str = "pending"  # pending | held | released | running | done
    outcome: str = ""  # succeeded | failed | skipped | cancelled | timed_out
    reason: str = ""  # Completed | Error | Skipped | TimeoutExceeded | Cancelled
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    hold_reason: str = ""
    results: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SidecarView:
    name: str
    phase: str = "pending"  # pending | announced | ready | unready | failed | stopped
    ready_at: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class RunView:
    steps: tuple[StepView, ...]
    sidecars: tuple[SidecarView, ...] = ()
    started_at: float | None = None
    finished_at: float | None = None
    outcome: str = ""  # Succeeded | Failed | Cancelled | TimedOut, once the supervisor decided
    reason: str = ""
    message: str = ""

    def with_step(self, step: StepView) -> RunView:
        return replace(self, steps=tuple(step if s.name == step.name else s for s in self.steps))


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def view_from_status(status: dict[str, Any]) -> RunView:
    """The supervisor's /status document (its RunState) reduced to what the display needs."""
    steps = tuple(StepView(
        name=str(s.get("name", "")), phase=str(s.get("phase", "pending")), outcome=str(s.get("outcome", "")),
        reason=str(s.get("reason", "")),
        exit_code=s["exit_code"] if isinstance(s.get("exit_code"), int) else None,
        started_at=_num(s.get("started_at")), finished_at=_num(s.get("finished_at")),
        hold_reason=str(s.get("hold_reason", "")),
        results={str(k): str(v) for k, v in (s.get("results") or {}).items()},
    ) for s in status.get("steps", []) if isinstance(s, dict))
    sidecars = tuple(SidecarView(
        name=str(c.get("name", "")), phase=str(c.get("phase", "pending")), ready_at=_num(c.get("ready_at")),
        reason=str(c.get("reason", "")),
    ) for c in status.get("sidecars", []) if isinstance(c, dict))
    return RunView(steps=steps, sidecars=sidecars, started_at=_num(status.get("started_at")),
                   finished_at=_num(status.get("finished_at")),
                   outcome=str(status.get("outcome", "")), reason=str(status.get("reason", "")),
                   message=str(status.get("message", "")))


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}s"


def _clock(at: float | None) -> str:
    if at is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int((at % 1) * 1000):03d}"


def _step_line(step: StepView, now: float | None) -> str:
    if step.phase == "done":
        took = (step.finished_at - step.started_at) if step.finished_at and step.started_at else None
        code = "" if step.exit_code is None else f" exit {step.exit_code}"
        return f"{step.name}: {step.reason or step.outcome}{code} {_seconds(took)}".rstrip()
    if step.phase == "held":
        return f"{step.name}: HELD ({step.hold_reason})"
    if step.phase == "running" and step.started_at and now is not None:
        return f"{step.name}: running {_seconds(now - step.started_at)}"
    return f"{step.name}: {step.phase}"


def _sidecar_line(car: SidecarView, started_at: float | None) -> str:
    if car.phase == "ready" and car.ready_at and started_at:
        return f"sidecar {car.name}: ready after {_seconds(car.ready_at - started_at)}"
    return f"sidecar {car.name}: {car.phase}{(' (' + car.reason + ')') if car.reason else ''}"


@dataclass
class Display:
    """Prints logs and progress; `live` redraws a status block on a terminal."""

    out: TextIO
    live: bool
    _drawn: int = 0
    _said: dict[str, str] = field(default_factory=dict)

    def log(self, label: str, lines: list[str]) -> None:
        if not lines:
            return
        self._erase()
        for line in lines:
            self.out.write(f"[{label}] {line}\n")
        self.out.flush()

    def note(self, text: str) -> None:
        self._erase()
        self.out.write(f"doll: {text}\n")
        self.out.flush()

    def show(self, view: RunView) -> None:
        now = time.time()
        lines = [_sidecar_line(c, view.started_at) for c in view.sidecars]
        lines += [_step_line(s, now) for s in view.steps]
        if self.live:
            self._erase()
            elapsed = _seconds((view.finished_at or now) - view.started_at) if view.started_at else ""
            block = [f"-- doll run {elapsed} --", *("  " + ln for ln in lines)]
            self.out.write("\n".join(block) + "\n")
            self._drawn = len(block)
            self.out.flush()
            return
        keys = [f"c:{c.name}" for c in view.sidecars] + [f"s:{s.name}" for s in view.steps]
        summaries = lines[:len(view.sidecars)] + [_step_line(s, None) for s in view.steps]
        for key, summary in zip(keys, summaries):
            if self._said.get(key) != summary:
                self._said[key] = summary
                self.out.write(f"doll: {summary}\n")
        self.out.flush()

    def _erase(self) -> None:
        if self.live and self._drawn:
            self.out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._drawn = 0


RESULT_SHOWN_CHARS = 200  # a longer result is shortened in the final table (--report has it in full)


def task_results(view: RunView) -> dict[str, str]:
    """The task's results: each step reports the ones written in /tekton/results when it ended, so a later
    step's value is the newer."""
    results: dict[str, str] = {}
    for step in view.steps:
        results.update(step.results)
    return dict(sorted(results.items()))


def _result_line(name: str, value: str) -> str:
    """`name = value`; quoted as JSON when plain text would hide something (a newline, edge spaces, empty)."""
    plain = bool(value) and value.isprintable() and value == value.strip()
    shown = value if plain else json.dumps(value, ensure_ascii=False)
    if len(shown) <= RESULT_SHOWN_CHARS:
        return f"  {name} = {shown}"
    return f"  {name} = {shown[:RESULT_SHOWN_CHARS]}... (shortened: {len(value)} characters in all)"


def final_table(view: RunView) -> str:
    """One row per step: start, duration, exit code, reason; the outcome; the task's results, if any."""
    rows = [("STEP", "START", "DURATION", "EXIT", "REASON")]
    for s in view.steps:
        took = (s.finished_at - s.started_at) if s.finished_at is not None and s.started_at is not None else None
        rows.append((s.name, _clock(s.started_at), _seconds(took) or "-",
                     "-" if s.exit_code is None else str(s.exit_code), s.reason or s.outcome or s.phase))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    text = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)
    outcome = view.outcome or "Unknown"
    text += f"\ntask: {outcome}{(' (' + view.reason + ')') if view.reason and view.reason != outcome else ''}"
    results = task_results(view)
    if results:
        text += "\nresults:\n" + "\n".join(_result_line(name, value) for name, value in results.items())
    return text
