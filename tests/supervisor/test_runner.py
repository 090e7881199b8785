"""The Runner in-process: a fake clock drives its timers, a list is its journal, fake connections its wrappers."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from contracts import wire
from supervisor.logs import Log
from contracts.plans import Plan
from supervisor.runner import Runner
from supervisor.serving import Connection
from supervisor.states import RunState
from supervisor.timings import Timings


class FakeTimers:
    """`Timers` on a clock the test moves: `advance(seconds)` fires what falls due, earliest first."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.armed: dict[str, tuple[float, Callable[..., object], tuple[Any, ...]]] = {}

    def clock(self) -> float:
        return self.now

    def arm(self, key: str, deadline: float, fn: Callable[..., object], *args: Any) -> None:
        self.armed[key] = (deadline, fn, args)

    def disarm(self, key: str) -> None:
        self.armed.pop(key, None)

    def close(self) -> None:
        self.armed.clear()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        while due := sorted((d, k) for k, (d, _, _) in self.armed.items() if d <= self.now):
            _, key = due[0]
            _, fn, args = self.armed.pop(key)
            fn(*args)


class Writer:
    def __init__(self) -> None:
        self.sent: list[wire.Message] = []

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.sent.append(wire.decode(data.rstrip(b"\n")))

    def close(self) -> None:
        pass


class Verdicts:
    def __init__(self) -> None:
        self.written: list[tuple[str, str, wire.Message]] = []

    def write(self, kind: str, name: str, message: Any) -> None:
        self.written.append((kind, name, message))


class Rig:
    def __init__(self, steps: list[dict[str, Any]], **plan: Any) -> None:
        self.plan = Plan.from_dict({"steps": [{"index": i, "container": f"step-{s['name']}", **s}
                                              for i, s in enumerate(steps)], "run_dir": "/nonexistent",
                                    "steps_dir": "/nonexistent", **plan})
        self.timers, self.journal, self.verdicts = FakeTimers(), [], Verdicts()
        self.state = RunState.from_plan(self.plan)
        self.runner = Runner(self.plan, self.state, self.journal, Log(io.StringIO()), self.timers.clock,
                             timers=self.timers, verdicts=self.verdicts,
                             timings=Timings(lost_seconds=5.0, handoff_quiet_seconds=0.005))
        self.heard: list[dict[str, Any]] = []
        self.runner.listeners.append(self.heard.append)

    def connect(self, name: str) -> Writer:
        writer = Writer()
        conn = Connection(writer)  # type: ignore[arg-type]
        conn.kind, conn.name = "step", name
        self.runner.on_message(conn, wire.Hello(kind="step", name=name, index=0, pid=1))
        self.conns = {**getattr(self, "conns", {}), name: conn}
        return writer

    def say(self, name: str, message: wire.Message) -> None:
        self.runner.on_message(self.conns[name], message)

    def finished(self, name: str, exit_code: int = 0) -> None:
        self.say(name, wire.Finished(name=name, exit_code=exit_code, reason="Completed" if exit_code == 0
                                         else "Error", started_at=self.timers.now - 1, finished_at=self.timers.now))

    def events(self) -> list[tuple[str, str]]:
        return [(r["ev"], r.get("step", "")) for r in self.journal]


def _ops(writer: Writer) -> list[str]:
    return [m.op for m in writer.sent]


async def test_a_new_run_journals_run_then_releases_step_zero_and_starts_it_once_its_wrapper_says_hello() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}])
    rig.runner.begin()
    assert rig.events() == [("run", ""), ("released", "a")]
    a = rig.connect("a")
    assert _ops(a) == ["start"] and rig.events()[-1] == ("announced", "a")


async def test_a_hand_off_starts_the_next_step_first_and_acks_the_finished_one_when_the_quiet_window_ends() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}])
    rig.runner.begin()
    a, b = rig.connect("a"), rig.connect("b")
    rig.say("a", wire.Started(name="a", started_at=rig.timers.now))
    heard = len(rig.heard)
    rig.finished("a")
    assert _ops(b) == ["start"] and _ops(a) == ["start"]  # b's start went out; a's ack waits
    assert len(rig.heard) == heard and "quiet" in rig.timers.armed  # so do the announcements
    rig.timers.advance(0.005)
    assert _ops(a) == ["start", "ack"]
    assert [r["ev"] for r in rig.heard[heard:]] == ["finished", "released"]  # in the journal's order


async def test_a_failed_stopAndFail_step_skips_the_rest_and_the_run_fails() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}, {"name": "c"}])
    rig.runner.begin()
    rig.connect("a")
    b = rig.connect("b")
    rig.finished("a", exit_code=2)
    assert rig.events()[-4:] == [("finished", "a"), ("skipped", "b"), ("skipped", "c"), ("run_finished", "")]
    assert rig.state.outcome == "Failed" and rig.runner.done.is_set()
    assert _ops(b) == ["skip"] and [(k, n) for k, n, _ in rig.verdicts.written] == [("step", "b"), ("step", "c")]


async def test_a_wrapper_gone_for_lost_seconds_fails_its_step_and_skips_the_rest() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}])
    rig.runner.begin()
    rig.connect("a")
    rig.say("a", wire.Started(name="a", started_at=rig.timers.now))
    rig.runner.on_closed(rig.conns["a"])
    rig.timers.advance(4.9)
    assert rig.state.step("a").phase == "running"  # type: ignore[union-attr]
    rig.timers.advance(0.2)
    lost = next(r for r in rig.journal if r["ev"] == "finished")
    assert (lost["outcome"], lost["source"]) == ("failed", "lost") and "within 5s" in lost["message"]
    assert rig.events()[-2:] == [("skipped", "b"), ("run_finished", "")]


async def test_a_lost_step_with_on_error_continue_still_fails_the_run_so_nothing_runs_beside_it() -> None:
    """Tekton pkg/entrypoint/entrypointer.go, Entrypointer.Go: onError continue forgives an exit the step's
    command chose (an ExitError); a container killed exits non-zero and pkg/pod/status.go DidTaskRunFail fails
    the TaskRun.  A lost wrapper's step may still run: releasing the next one would run two at once."""
    rig = Rig([{"name": "a", "on_error": "continue"}, {"name": "b"}])
    rig.runner.begin()
    rig.connect("a")
    rig.say("a", wire.Started(name="a", started_at=rig.timers.now))
    rig.runner.on_closed(rig.conns["a"])
    rig.timers.advance(5.1)
    lost = next(r for r in rig.journal if r["ev"] == "finished")
    assert (lost["outcome"], lost["reason"], lost["source"]) == ("failed", "Error", "lost")
    assert rig.events()[-2:] == [("skipped", "b"), ("run_finished", "")] and rig.state.outcome == "Failed"


async def test_a_wrapper_that_says_hello_again_in_time_is_not_lost() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}])
    rig.runner.begin()
    rig.connect("a")
    rig.say("a", wire.Started(name="a", started_at=rig.timers.now))
    rig.runner.on_closed(rig.conns["a"])
    rig.timers.advance(1.0)
    again = rig.connect("a")
    rig.timers.advance(60.0)
    assert _ops(again) == ["start"] and rig.state.step("a").phase == "running"  # type: ignore[union-attr]


async def test_the_task_timeout_cancels_the_run_and_stops_the_running_step() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}], timeout_seconds=10)
    rig.runner.begin()
    a = rig.connect("a")
    rig.say("a", wire.Started(name="a", started_at=rig.timers.now))
    rig.timers.advance(10.0)
    assert rig.state.cancel_reason == "TimeoutExceeded"
    assert _ops(a) == ["start", "stop"] and a.sent[-1].reason == "TimeoutExceeded"  # type: ignore[union-attr]
    rig.say("a", wire.Finished(name="a", exit_code=143, reason="Error", started_at=1.0, finished_at=2.0))
    rig.timers.advance(0.005)
    assert rig.state.outcome == "TimedOut" and rig.state.step("a").outcome == "timed_out"  # type: ignore[union-attr]


async def test_a_breakpoint_before_a_step_holds_it_until_ctl_continue() -> None:
    rig = Rig([{"name": "a", "breakpoint_before": True}])
    rig.runner.begin()
    a = rig.connect("a")
    assert _ops(a) == ["hold"] and rig.state.current_hold() is rig.state.step("a")
    assert not rig.runner.control(wire.Ctl(action="continue", step="zz")).ok
    reply = rig.runner.control(wire.Ctl(action="continue", step="a"))
    assert reply.ok and _ops(a) == ["hold", "start"]
    assert not rig.runner.control(wire.Ctl(action="fail", step="a")).ok  # it is no longer held


async def test_a_hold_times_out_into_a_failure_the_wrapper_hears_as_its_verdict() -> None:
    rig = Rig([{"name": "a", "breakpoint_before": True}], hold_timeout_seconds=30)
    rig.runner.begin()
    a = rig.connect("a")
    rig.timers.advance(30.0)
    done = next(r for r in rig.journal if r["ev"] == "finished")
    assert (done["outcome"], done["message"]) == ("failed", "hold timed out")
    assert a.sent[-1] == wire.Ack(verdict="failed") and rig.state.outcome == "Failed"


async def test_ctl_cancel_skips_the_pending_steps_once_and_then_says_the_run_is_winding_down() -> None:
    rig = Rig([{"name": "a"}, {"name": "b"}])
    rig.runner.begin()
    assert rig.runner.control(wire.Ctl(action="cancel")).ok
    assert not rig.runner.control(wire.Ctl(action="cancel")).ok
    assert [e for e in rig.events() if e[0] == "skipped"] == [("skipped", "a"), ("skipped", "b")]
    assert rig.state.outcome == "Cancelled"


@pytest.mark.parametrize(("stopping", "cancel", "reason", "code", "expected"), [
    ("", "", "Completed", 0, ("succeeded", "Completed")),
    ("", "", "Error", 2, ("failed", "Error")),
    ("TimeoutExceeded", "", "Error", 143, ("timed_out", "TimeoutExceeded")),
    ("", "", "TimeoutExceeded", None, ("timed_out", "TimeoutExceeded")),
    ("Cancelled", "Cancelled", "Error", 143, ("cancelled", "Cancelled")),
    ("", "", "Cancelled", None, ("failed", "Cancelled")),
    ("", "", "Skipped", None, ("skipped", "Skipped")),
])
def test_the_outcome_rule(stopping: str, cancel: str, reason: str, code: int | None,
                          expected: tuple[str, str]) -> None:
    from contracts.outcome import judge
    judged = judge(reason, code, stopping=stopping, run_cancelled=bool(cancel))
    assert (judged.outcome, judged.reason) == expected


def test_every_record_the_runner_writes_is_one_parse_record_accepts() -> None:
    from contracts.journal import parse_record
    rig = Rig([{"name": "a", "breakpoint_before": True}, {"name": "b"}], timeout_seconds=10)

    async def run() -> None:
        rig.runner.begin()
        rig.connect("a")
        rig.runner.control(wire.Ctl(action="continue", step="a"))
        rig.say("a", wire.Started(name="a", started_at=rig.timers.now))
        rig.finished("a", exit_code=1)
        rig.timers.advance(1.0)

    import asyncio
    asyncio.run(run())
    for rec in rig.journal:
        assert parse_record(json.loads(json.dumps(rec))) == rec
