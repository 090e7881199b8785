"""Socket mode against a stand-in supervisor (a small process speaking the protocol; the real supervisor has
its own tests), and the fall back to the file chain when the supervisor is missing or killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from entrypoint_helpers import catches, finish, short_dir, stand_in, step_args, wait_for, wrapper

from contracts import exits


def _steps(tmp_path: Path, sock: str, names: list[str], scripts: dict[str, str], **extra: str) -> list:
    procs = []
    for i in reversed(range(len(names))):
        name = names[i]
        script = scripts.get(name, f"echo {name} >> {tmp_path / 'log'}")
        procs.append(wrapper(*step_args(tmp_path, name, i, names[i - 1] if i else None, socket=sock,
                                        reconnect_seconds="0.3", **extra), "--", "sh", "-c", script))
    return list(reversed(procs))


def test_the_supervisor_starts_steps_in_order(tmp_path: Path) -> None:
    names = ["a", "b", "c"]
    with stand_in(names) as sup:
        procs = _steps(tmp_path, sup.socket, names, {})
        assert finish(procs) == [0, 0, 0]
        ops = [op for op in sup.ops() if op[0] != "hello"]
    assert (tmp_path / "log").read_text().split() == names
    assert ops == [("started", "a"), ("finished", "a"), ("started", "b"), ("finished", "b"),
                   ("started", "c"), ("finished", "c")]
    for n in names:
        assert (tmp_path / f"step-{n}" / "out").exists()


def test_a_steps_exit_code_is_on_disk_before_the_supervisor_hears_it_finished(tmp_path: Path) -> None:
    """The supervisor releases the next step the moment it hears, and that step may read this exitCode."""
    names = ["a", "b"]
    with stand_in(names, "--continue", "a", "--steps-dir", str(tmp_path)) as sup:
        assert finish(_steps(tmp_path, sup.socket, names, {"a": "exit 3", "b": "true"},
                             on_error="continue")) == [0, 0]
        finished = [e for e in sup.events() if e["op"] == "finished"]
    assert [(e["name"], e["exit_code_on_disk"]) for e in finished] == [("a", "3"), ("b", "0")]


def test_started_and_finished_carry_the_childs_own_times(tmp_path: Path) -> None:
    with stand_in(["a"]) as sup:
        before = time.time()
        proc = wrapper(*step_args(tmp_path, "a", 0, socket=sup.socket), "--", "sh", "-c",
                       f"sleep 0.2; date +%s.%N > {tmp_path / 'child'}")
        assert finish([proc]) == [0]
        events = {e["op"]: e for e in sup.events()}
    child_end = float((tmp_path / "child").read_text())
    started, finished = events["started"]["started_at"], events["finished"]["finished_at"]
    assert before < started < child_end - 0.15 < finished
    assert events["finished"]["started_at"] == started and events["finished"]["reason"] == "Completed"


def test_a_failure_makes_the_supervisor_skip_the_rest(tmp_path: Path) -> None:
    names = ["a", "b", "c"]
    with stand_in(names) as sup:
        codes = finish(_steps(tmp_path, sup.socket, names, {"b": "exit 4"}))
        finished = [e for e in sup.events() if e["op"] == "finished"]
    assert codes == [0, 4, exits.EXIT_SKIPPED]
    assert [(e["name"], e["exit_code"], e["reason"]) for e in finished] == [
        ("a", 0, "Completed"), ("b", 4, "Error"), ("c", exits.EXIT_SKIPPED, "Skipped")]
    assert (tmp_path / "step-c" / "out.err").exists()


def test_stop_from_the_supervisor_cancels_the_running_step(tmp_path: Path) -> None:
    with stand_in(["a"], "--stop", "a") as sup:
        proc = wrapper(*step_args(tmp_path, "a", 0, socket=sup.socket), "--", "sh", "-c",
                       f"trap 'echo term > {tmp_path / 'got'}; exit 0' TERM; sleep 30 & wait")
        assert finish([proc]) == [exits.EXIT_CANCELLED]
        finished = [e for e in sup.events() if e["op"] == "finished"][0]
    assert finished["reason"] == "Cancelled" and (tmp_path / "got").read_text() == "term\n"


def test_supervisor_killed_mid_run_the_file_chain_completes_the_run_in_order(tmp_path: Path) -> None:
    names = ["a", "b", "c", "d"]
    log = tmp_path / "log"
    with stand_in(names) as sup:
        scripts = {n: f"echo {n}-begin >> {log}; sleep 0.2; echo {n}-end >> {log}" for n in names}
        procs = _steps(tmp_path, sup.socket, names, scripts)
        wait_for(lambda: ("started", "b") in sup.ops(), what="step b to start")
        sup.kill()
        codes = finish(procs)
    assert codes == [0, 0, 0, 0]
    assert log.read_text().split() == [f"{n}-{w}" for n in names for w in ("begin", "end")]
    for n in names:
        assert json.loads((tmp_path / f"step-{n}" / "out").read_text())["reason"] == "Completed"


def test_a_socket_that_never_appears_falls_back_to_the_file_chain(tmp_path: Path) -> None:
    names = ["a", "b"]
    sock = str(tmp_path / "never.sock")
    procs = _steps(tmp_path, sock, names, {}, socket_wait_seconds="0.3")
    assert finish(procs) == [0, 0]
    assert (tmp_path / "log").read_text().split() == names


def test_a_supervisor_that_starts_late_is_waited_for(tmp_path: Path) -> None:
    with stand_in(["a"], start=False) as sup:
        proc = wrapper(*step_args(tmp_path, "a", 0, socket=sup.socket), "--", "true")
        wait_for(lambda: ("finished", "a") in sup.ops(), what="the late supervisor to hear of a")
        assert finish([proc]) == [0]


def test_sigterm_while_waiting_records_the_step_as_cancelled(tmp_path: Path) -> None:
    proc = wrapper(*step_args(tmp_path, "b", 1, "a"), "--", "sh", "-c", f"echo ran > {tmp_path / 'ran'}")
    time.sleep(0.4)
    proc.send_signal(signal.SIGTERM)
    assert finish([proc]) == [exits.EXIT_CANCELLED]
    assert not (tmp_path / "ran").exists()
    assert json.loads((tmp_path / "step-b" / "out.err").read_text())["reason"] == "Cancelled"
    assert not os.path.exists(tmp_path / "step-b" / "out")


def test_sigterm_while_the_first_connection_is_tried_records_the_step_as_cancelled(tmp_path: Path) -> None:
    """The supervisor is not there yet and the wrapper would keep trying its socket for 30 s: SIGTERM ends
    the step at once, recorded as cancelled, and the command never runs."""
    with short_dir() as d:
        proc = wrapper(*step_args(tmp_path, "a", 0, socket=str(d / "control.sock"), socket_wait_seconds="30"),
                       "--", "sh", "-c", f"echo ran > {tmp_path / 'ran'}")
        wait_for(lambda: catches(proc.pid, signal.SIGTERM), what="the wrapper to catch SIGTERM")
        time.sleep(0.2)  # trying to connect by now
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert finish([proc]) == [exits.EXIT_CANCELLED]
        assert time.monotonic() - sent < 3
    assert not (tmp_path / "ran").exists()
    record = json.loads((tmp_path / "step-a" / "out.err").read_text())
    assert (record["reason"], record["exit_code"]) == ("Cancelled", exits.EXIT_CANCELLED)
    assert (tmp_path / "step-a" / "exitCode").read_text() == str(exits.EXIT_CANCELLED)
