"""File mode (no supervisor): Tekton's chain of post files orders the steps and cascades failures."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from entrypoint_helpers import catches, finish, run_wrapper, step_args, wait_for, wrapper

from contracts import exits


def _chain(tmp_path: Path, names: list[str], scripts: dict[str, str], **extra: str) -> list[int]:
    """Start every step at once, last first, each appending its name to a log; return their exit codes."""
    log = tmp_path / "log"
    procs = []
    for i in reversed(range(len(names))):
        name = names[i]
        script = scripts.get(name, f"echo {name} >> {log}")
        procs.append(wrapper(*step_args(tmp_path, name, i, names[i - 1] if i else None, **extra),
                             "--", "sh", "-c", script))
        time.sleep(0.02)
    return list(reversed(finish(procs)))


def test_steps_started_together_run_in_order(tmp_path: Path) -> None:
    names = ["one", "two", "three", "four"]
    scripts = {n: f"sleep 0.05; echo {n} >> {tmp_path / 'log'}" for n in names}
    codes = _chain(tmp_path, names, scripts)
    assert codes == [0, 0, 0, 0]
    assert (tmp_path / "log").read_text().split() == names
    for n in names:
        assert (tmp_path / f"step-{n}" / "out").exists()
        assert (tmp_path / f"step-{n}" / "exitCode").read_text() == "0"


def test_second_step_waits_for_first_to_exit(tmp_path: Path) -> None:
    names = ["first", "second"]
    log = tmp_path / "log"
    scripts = {"first": f"echo first-begin >> {log}; sleep 0.3; echo first-end >> {log}"}
    assert _chain(tmp_path, names, scripts) == [0, 0]
    assert log.read_text().split() == ["first-begin", "first-end", "second"]
    first = json.loads((tmp_path / "step-first" / "out").read_text())
    second = json.loads((tmp_path / "step-second" / "out").read_text())
    assert second["started_at"] >= first["finished_at"]


def test_a_failed_step_skips_the_rest_through_err_files(tmp_path: Path) -> None:
    names = ["ok", "bad", "after", "last"]
    codes = _chain(tmp_path, names, {"bad": "exit 7"})
    assert codes == [0, 7, exits.EXIT_SKIPPED, exits.EXIT_SKIPPED]
    assert (tmp_path / "log").read_text().split() == ["ok"]
    assert (tmp_path / "step-bad" / "out.err").exists() and not (tmp_path / "step-bad" / "out").exists()
    for n in ("after", "last"):
        record = json.loads((tmp_path / f"step-{n}" / "out.err").read_text())
        assert record["reason"] == "Skipped" and record["exit_code"] == exits.EXIT_SKIPPED
        assert (tmp_path / f"step-{n}" / "exitCode").read_text() == str(exits.EXIT_SKIPPED)


def test_on_error_continue_lets_the_next_step_run(tmp_path: Path) -> None:
    log = tmp_path / "log"
    first = run_wrapper(*step_args(tmp_path, "flaky", 0, on_error="continue"), "--", "sh", "-c", "exit 3")
    assert first.returncode == 0
    assert (tmp_path / "step-flaky" / "exitCode").read_text() == "3"
    assert (tmp_path / "step-flaky" / "out").exists()
    term = json.loads((tmp_path / "step-flaky" / "termination").read_text())
    assert {"key": "ExitCode", "value": "3", "type": 3} in term
    second = run_wrapper(*step_args(tmp_path, "next", 1, "flaky"), "--", "sh", "-c", f"echo next >> {log}")
    assert second.returncode == 0 and log.read_text() == "next\n"


def test_wait_file_content_waits_for_a_non_empty_file(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    ready.write_text("")
    proc = wrapper("--name", "s", "--wait-file", str(ready), "--wait-file-content", "--",
                   "sh", "-c", f"echo ran > {tmp_path / 'ran'}")
    time.sleep(0.4)
    assert proc.poll() is None and not (tmp_path / "ran").exists()
    ready.write_text("go")
    assert finish([proc]) == [0]
    assert (tmp_path / "ran").read_text() == "ran\n"


def test_polling_mode_also_follows_the_chain(tmp_path: Path) -> None:
    names = ["a", "b", "c"]
    assert _chain(tmp_path, names, {}, poll_seconds="0.05") == [0, 0, 0]
    assert (tmp_path / "log").read_text().split() == names


def test_a_wait_file_in_a_directory_created_later_is_still_seen(tmp_path: Path) -> None:
    later = tmp_path / "later"
    proc = wrapper("--name", "s", "--wait-file", str(later / "out"), "--", "true")
    time.sleep(0.3)
    later.mkdir()
    (later / "out").write_text("")
    assert finish([proc]) == [0]


def test_a_signal_the_wrapper_gets_while_waiting_is_not_passed_on_to_the_child_later(tmp_path: Path) -> None:
    """The wrapper catches what it forwards from before its wait (it is ready to spawn at once); what comes
    before the child exists is dropped (a container's first process ignores it anyway)."""
    ready, got = tmp_path / "ready", tmp_path / "got"
    proc = wrapper("--name", "s", "--wait-file", str(ready), "--", "sh", "-c",
                   f"trap 'echo USR1 > {got}' USR1; sleep 0.3")
    wait_for(lambda: catches(proc.pid, signal.SIGUSR1), what="the wrapper to catch SIGUSR1")
    time.sleep(0.2)  # waiting by now
    proc.send_signal(signal.SIGUSR1)
    time.sleep(0.1)
    ready.write_text("")
    assert finish([proc]) == [0]
    assert not got.exists()
