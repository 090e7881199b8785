"""RunState.apply, the one reducer the live run and a replay share: in-process, record by record."""

from __future__ import annotations

from typing import Any

from contracts.plans import Plan
from supervisor.states import RunState


def _state(*steps: dict[str, Any], sidecars: tuple[str, ...] = ()) -> RunState:
    entries = steps or ({"name": "a"}, {"name": "b"})
    plan = Plan.from_dict({"steps": [{"index": i, "container": f"step-{s['name']}", **s} for i, s in enumerate(entries)],
                           "sidecars": [{"name": c, "container": f"sidecar-{c}"} for c in sidecars]})
    return RunState.from_plan(plan)


def _finished(step: str, outcome: str, reason: str = "Error", **more: Any) -> dict[str, Any]:
    return {"ev": "finished", "at": 5.0, "step": step, "outcome": outcome, "reason": reason, "exit_code": 1,
            "started_at": 2.0, "finished_at": 4.0, "results": {}, "message": "", **more}


def test_a_finished_stopAndFail_step_marks_the_run_failed() -> None:
    st = _state()
    st.apply(_finished("a", "failed"))
    a = st.step("a")
    assert st.failed and a is not None and (a.phase, a.outcome, a.exit_code) == ("done", "failed", 1)


def test_a_timed_out_stopAndFail_step_marks_the_run_failed_too() -> None:
    st = _state()
    st.apply(_finished("a", "timed_out", "TimeoutExceeded"))
    assert st.failed


def test_a_failed_step_with_onError_continue_leaves_the_run_unfailed() -> None:
    """Recorded as the outcome rule judged it: forgiven, reason Completed (contracts/outcome.py)."""
    st = _state({"name": "a", "on_error": "continue"}, {"name": "b"})
    st.apply(_finished("a", "failed", "Completed"))
    assert not st.failed and st.task_outcome() == ("Succeeded", "Succeeded")


def test_a_lost_or_timed_out_step_with_onError_continue_fails_the_run() -> None:
    """Tekton pkg/entrypoint/entrypointer.go, Entrypointer.Go forgives an ExitError only; a container killed
    (lost: recorded Error) or a deadline is no exit the step chose (pkg/pod/status.go DidTaskRunFail)."""
    for reason, outcome in (("Error", "failed"), ("TimeoutExceeded", "timed_out")):
        st = _state({"name": "a", "on_error": "continue"}, {"name": "b"})
        st.apply(_finished("a", outcome, reason))
        assert st.failed and st.task_outcome() == ("Failed", "Failed")


def test_a_released_then_started_step_is_running_since_the_wrappers_start_time() -> None:
    st = _state()
    st.apply({"ev": "released", "at": 1.0, "step": "a", "handoff": 0.002})
    st.apply({"ev": "started", "at": 1.5, "step": "a"})
    a = st.step("a")
    assert a is not None and (a.phase, a.released_at, a.started_at, a.handoff_seconds) == ("running", 1.0, 1.5, 0.002)


def test_a_finished_step_takes_its_times_from_the_record_and_its_finish_time_from_at_when_it_has_none() -> None:
    st = _state()
    st.apply(_finished("a", "succeeded", "Completed", finished_at=None, started_at=None))
    a = st.step("a")
    assert a is not None and a.finished_at == 5.0 and a.started_at is None


def test_the_first_cancel_wins_and_a_later_one_is_ignored() -> None:
    st = _state()
    st.apply({"ev": "cancel", "at": 1.0, "reason": "TimeoutExceeded", "message": "task timeout"})
    st.apply({"ev": "cancel", "at": 2.0, "reason": "Cancelled", "message": "doll ctl"})
    assert (st.cancel_reason, st.cancel_message) == ("TimeoutExceeded", "task timeout")
    assert st.task_outcome() == ("TimedOut", "TaskRunTimeout")


def test_the_task_outcome_follows_the_cancel_reason_then_the_failure() -> None:
    for reason, expected in (("Cancelled", ("Cancelled", "TaskRunCancelled")),
                             ("SidecarFailed", ("Failed", "SidecarFailed"))):
        st = _state()
        st.apply({"ev": "cancel", "at": 1.0, "reason": reason, "message": ""})
        assert st.task_outcome() == expected
    st = _state()
    st.apply(_finished("a", "failed"))
    assert st.task_outcome() == ("Failed", "Failed")


def test_a_step_held_onFailure_keeps_the_wrappers_report_and_its_start_time() -> None:
    st = _state()
    report = {"exit_code": 3, "reason": "Error", "started_at": 1.25, "finished_at": 2.0, "results": {}, "message": ""}
    st.apply({"ev": "held", "at": 2.5, "step": "a", "reason": "onFailure", "report": report})
    a = st.step("a")
    assert a is not None and (a.phase, a.hold_reason, a.held_at, a.started_at) == ("held", "onFailure", 2.5, 1.25)
    assert a.failure == report and st.current_hold() is a
    assert [(h.step, h.reason, h.since, h.until) for h in st.holds] == [("a", "onFailure", 2.5, None)]


def test_continuing_a_beforeStep_hold_puts_the_step_back_to_pending_with_its_breakpoint_passed() -> None:
    st = _state({"name": "a", "breakpoint_before": True}, {"name": "b"})
    st.apply({"ev": "held", "at": 1.0, "step": "a", "reason": "beforeStep", "report": {}})
    st.apply({"ev": "unheld", "at": 3.0, "step": "a", "decision": "continue"})
    a = st.step("a")
    assert a is not None and (a.phase, a.breakpoint_passed, a.hold_reason, a.held_at) == ("pending", True, "", None)
    assert [(h.until, h.decision) for h in st.holds] == [(3.0, "continue")] and st.current_hold() is None


def test_failing_a_beforeStep_hold_leaves_the_step_held_until_its_finished_record() -> None:
    st = _state({"name": "a", "breakpoint_before": True}, {"name": "b"})
    st.apply({"ev": "held", "at": 1.0, "step": "a", "reason": "beforeStep", "report": {}})
    st.apply({"ev": "unheld", "at": 3.0, "step": "a", "decision": "fail"})
    a = st.step("a")
    assert a is not None and a.phase == "held" and not a.breakpoint_passed


def test_a_skipped_step_is_done_with_its_reason_as_message_and_no_start_time() -> None:
    st = _state()
    st.apply({"ev": "skipped", "at": 7.0, "step": "b", "reason": "an earlier step failed", "cancelled": False})
    b = st.step("b")
    assert b is not None and (b.phase, b.outcome, b.reason, b.message) == ("done", "skipped", "Skipped",
                                                                            "an earlier step failed")
    assert b.started_at is None and b.finished_at == 7.0


def test_stopping_records_why_the_step_was_asked_to_stop() -> None:
    st = _state()
    st.apply({"ev": "stopping", "at": 1.0, "step": "a", "reason": "TimeoutExceeded"})
    assert st.step("a").stopping == "TimeoutExceeded"  # type: ignore[union-attr]


def test_a_sidecar_keeps_its_first_announce_and_ready_times_and_can_go_unready() -> None:
    st = _state(sidecars=("db",))
    assert not st.sidecars_ready
    for ev, at in (("sidecar_announced", 1.0), ("sidecar_ready", 2.0), ("sidecar_unready", 3.0),
                   ("sidecar_announced", 4.0), ("sidecar_ready", 5.0)):
        st.apply({"ev": ev, "at": at, "sidecar": "db"})
    db = st.sidecar("db")
    assert db is not None and (db.phase, db.announced_at, db.ready_at) == ("ready", 1.0, 2.0) and st.sidecars_ready


def test_a_failed_then_stopped_sidecar_says_why_it_failed() -> None:
    st = _state(sidecars=("db",))
    st.apply({"ev": "sidecar_failed", "at": 1.0, "sidecar": "db", "reason": "exited with code 7"})
    assert st.sidecar("db").reason == "exited with code 7"  # type: ignore[union-attr]
    st.apply({"ev": "sidecar_stopped", "at": 2.0, "sidecar": "db"})
    db = st.sidecar("db")
    assert db is not None and (db.phase, db.stopped_at) == ("stopped", 2.0)


def test_records_naming_an_unknown_step_or_sidecar_change_nothing_but_the_count() -> None:
    st = _state(sidecars=("db",))
    before = st.to_status()
    st.apply(_finished("zz", "failed"))
    st.apply({"ev": "sidecar_ready", "at": 1.0, "sidecar": "zz"})
    assert st.to_status() == before and st.records == 2


def test_run_and_run_finished_give_the_run_its_start_and_outcome() -> None:
    st = _state()
    st.apply({"ev": "run", "at": 1.0})
    st.apply({"ev": "run", "at": 9.0})  # a restarted supervisor never moves the start
    st.apply({"ev": "run_finished", "at": 4.0, "outcome": "Failed", "reason": "Failed", "message": "m"})
    assert (st.started_at, st.finished, st.outcome, st.reason, st.finished_at, st.message) == \
        (1.0, True, "Failed", "Failed", 4.0, "m")
    assert st.to_status()["phase"] == "finished"
