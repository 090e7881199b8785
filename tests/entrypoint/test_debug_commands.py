"""`entrypoint debug status | continue | fail-continue`: in file mode (files in the step dir) and through
the supervisor's socket (against the stand-in supervisor; the real one has its own tests)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from entrypoint_helpers import finish, run_wrapper, stand_in, step_args, wait_for, wrapper

from contracts import exits


def _debug(*args: str, **env: str) -> tuple[int, str, str]:
    done = run_wrapper("debug", *args, env=dict(os.environ, **env))
    return done.returncode, done.stdout, done.stderr


def test_breakpoint_before_holds_until_debug_continue(tmp_path: Path) -> None:
    step_dir = tmp_path / "step-s"
    ran = tmp_path / "ran"
    proc = wrapper(*step_args(tmp_path, "s", 0, breakpoint_before=""), "--", "sh", "-c", f"touch {ran}")
    wait_for((step_dir / "breakpoint").exists, what="the step to hold")
    code, out, _ = _debug("status", DOLL_STEP_DIR=str(step_dir), DOLL_STEP_NAME="s")
    assert code == 0 and json.loads(out) == {"step": "s", "held": "beforeStep", "exitCode": None}
    assert not ran.exists() and proc.poll() is None
    code, _, _ = _debug("continue", "--step-dir", str(step_dir))
    assert code == 0
    assert finish([proc]) == [0]
    assert ran.exists() and not (step_dir / "breakpoint").exists()


def test_fail_continue_before_the_step_marks_it_failed_without_running_it(tmp_path: Path) -> None:
    step_dir = tmp_path / "step-s"
    ran = tmp_path / "ran"
    proc = wrapper(*step_args(tmp_path, "s", 0, breakpoint_before=""), "--", "sh", "-c", f"touch {ran}")
    wait_for((step_dir / "breakpoint").exists, what="the step to hold")
    assert _debug("fail-continue", DOLL_STEP_DIR=str(step_dir))[0] == 0
    assert finish([proc]) == [exits.EXIT_DEBUG_FAILED]
    assert not ran.exists()
    assert json.loads((step_dir / "out.err").read_text())["reason"] == "Error"


def test_breakpoint_on_failure_then_continue_marks_the_step_succeeded(tmp_path: Path) -> None:
    step_dir = tmp_path / "step-s"
    proc = wrapper(*step_args(tmp_path, "s", 0, breakpoint_on_failure=""), "--", "sh", "-c", "exit 5")
    wait_for((step_dir / "breakpoint").exists, what="the step to hold")
    code, out, _ = _debug("status", DOLL_STEP_DIR=str(step_dir))
    assert json.loads(out)["held"] == "onFailure"
    assert not (step_dir / "out").exists() and not (step_dir / "out.err").exists()
    assert _debug("continue", DOLL_STEP_DIR=str(step_dir))[0] == 0
    assert finish([proc]) == [0]
    record = json.loads((step_dir / "out").read_text())
    assert record["exit_code"] == 0 and record["reason"] == "Completed"


def test_breakpoint_on_failure_then_fail_continue_keeps_the_failure(tmp_path: Path) -> None:
    step_dir = tmp_path / "step-s"
    proc = wrapper(*step_args(tmp_path, "s", 0, breakpoint_on_failure=""), "--", "sh", "-c", "exit 5")
    wait_for((step_dir / "breakpoint").exists, what="the step to hold")
    assert _debug("fail-continue", DOLL_STEP_DIR=str(step_dir))[0] == 0
    assert finish([proc]) == [5]
    assert json.loads((step_dir / "out.err").read_text())["exit_code"] == 5


def test_continue_on_a_step_that_is_not_held_is_refused(tmp_path: Path) -> None:
    code, _, err = _debug("continue", "--step-dir", str(tmp_path), "--name", "s")
    assert code == 1 and "step 's' is not held" in err


def test_debug_without_a_step_says_what_is_missing() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOLL_")}
    done = run_wrapper("debug", "status", env=env)
    assert done.returncode == exits.EXIT_WRAPPER_ERROR and "DOLL_STEP_DIR" in done.stderr
    done = run_wrapper("debug", "resume", env=env)
    assert done.returncode == exits.EXIT_USAGE and "resume" in done.stderr


def test_debug_goes_through_the_supervisor_when_it_answers(tmp_path: Path) -> None:
    with stand_in(["a", "b"], "--hold", "a") as sup:
        procs = [wrapper(*step_args(tmp_path, n, i, socket=sup.socket), "--", "sh", "-c",
                         f"echo {n} >> {tmp_path / 'log'}") for i, n in enumerate(["a", "b"])]
        wait_for(lambda: ("hello", "a") in sup.ops() and ("hello", "b") in sup.ops(), what="both hellos")
        code, out, _ = _debug("status", DOLL_SOCKET=sup.socket, DOLL_STEP_NAME="a")
        assert code == 0 and json.loads(out)["held"] == "a"
        assert not (tmp_path / "log").exists()
        code, out, _ = _debug("continue", DOLL_SOCKET=sup.socket, DOLL_STEP_NAME="a")
        assert code == 0 and "a: continue" in out
        assert finish(procs) == [0, 0]
        assert ("ctl", "a") in sup.ops()
    assert (tmp_path / "log").read_text().split() == ["a", "b"]


def test_fail_continue_through_the_supervisor_fails_the_step_and_skips_the_rest(tmp_path: Path) -> None:
    with stand_in(["a", "b"], "--hold", "a") as sup:
        procs = [wrapper(*step_args(tmp_path, n, i, socket=sup.socket), "--", "true")
                 for i, n in enumerate(["a", "b"])]
        wait_for(lambda: ("hello", "a") in sup.ops(), what="a's hello")
        assert _debug("fail-continue", DOLL_SOCKET=sup.socket, DOLL_STEP_NAME="a")[0] == 0
        assert finish(procs) == [exits.EXIT_DEBUG_FAILED, exits.EXIT_SKIPPED]


def test_sigterm_while_held_on_failure_still_records_the_failure(tmp_path: Path) -> None:
    step_dir = tmp_path / "step-s"
    proc = wrapper(*step_args(tmp_path, "s", 0, breakpoint_on_failure=""), "--", "sh", "-c", "exit 5")
    wait_for((step_dir / "breakpoint").exists, what="the step to hold")
    proc.terminate()
    assert finish([proc]) == [5]
    assert json.loads((step_dir / "out.err").read_text())["exit_code"] == 5
