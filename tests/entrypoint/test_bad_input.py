"""Bad input: one line on stderr, a distinct exit code, and the step still recorded as failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from entrypoint_helpers import ROOT, finish, run_wrapper, stand_in, step_args, wrapper

from contracts import exits


def _recorded_failure(tmp_path: Path, name: str, code: int) -> dict:
    step = tmp_path / f"step-{name}"
    assert (step / "exitCode").read_text() == str(code)
    assert not (step / "out").exists()
    term = {e["key"]: e["value"] for e in json.loads((step / "termination").read_text())}
    assert term["ExitCode"] == str(code)
    record: dict = json.loads((step / "out.err").read_text())
    assert record["exit_code"] == code and record["reason"] == "Error"
    return record


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_an_unknown_option_is_a_usage_error_and_recorded(tmp_path: Path) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--bogus", "1", "--", "true")
    assert done.returncode == exits.EXIT_USAGE
    assert "--bogus" in _one_line(done.stderr)
    assert "--bogus" in _recorded_failure(tmp_path, "s", exits.EXIT_USAGE)["message"]


@pytest.mark.parametrize("argv", [["--"], []])
def test_nothing_after_the_separator_is_a_usage_error(tmp_path: Path, argv: list[str]) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), *argv)
    assert done.returncode == exits.EXIT_USAGE
    line = _one_line(done.stderr)
    assert "nothing to run after `--`" in line or "missing `--`" in line
    _recorded_failure(tmp_path, "s", exits.EXIT_USAGE)


def test_a_bad_value_names_the_flag_and_the_value(tmp_path: Path) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--timeout-seconds", "-3", "--", "true")
    assert done.returncode == exits.EXIT_USAGE
    assert "--timeout-seconds: -3" in _one_line(done.stderr)


def test_a_missing_command_exits_127_and_is_recorded(tmp_path: Path) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--", "/no/such/command", "arg")
    assert done.returncode == exits.EXIT_NOT_FOUND
    assert "'/no/such/command': not found" in _one_line(done.stderr)
    _recorded_failure(tmp_path, "s", exits.EXIT_NOT_FOUND)


def test_a_command_that_is_not_executable_exits_126_and_is_recorded(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--", str(script))
    assert done.returncode == exits.EXIT_NOT_EXECUTABLE
    assert "cannot be executed" in _one_line(done.stderr)
    _recorded_failure(tmp_path, "s", exits.EXIT_NOT_EXECUTABLE)


def test_a_socket_path_that_is_not_a_socket_is_a_wrapper_error(tmp_path: Path) -> None:
    not_a_socket = tmp_path / "plain-file"
    not_a_socket.write_text("")
    done = run_wrapper(*step_args(tmp_path, "s", 0, socket=str(not_a_socket)), "--", "true")
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    assert "is not a socket" in _one_line(done.stderr)
    _recorded_failure(tmp_path, "s", exits.EXIT_WRAPPER_ERROR)


def test_a_socket_path_too_long_is_a_wrapper_error(tmp_path: Path) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0, socket="/tmp/" + "x" * 120), "--", "true")
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    assert "longer than 107 bytes" in _one_line(done.stderr)


def test_a_usage_error_still_reaches_a_reachable_supervisor(tmp_path: Path) -> None:
    with stand_in(["s"]) as sup:
        proc = wrapper(*step_args(tmp_path, "s", 0, socket=sup.socket), "--no-such-flag", "--", "true")
        assert finish([proc]) == [exits.EXIT_USAGE]
        finished = [e for e in sup.events() if e["op"] == "finished"]
    assert finished and finished[0]["exit_code"] == exits.EXIT_USAGE
    assert "--no-such-flag" in finished[0]["message"]


def test_a_stale_socket_with_no_listener_falls_back_to_the_file_chain(tmp_path: Path) -> None:
    stale = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()  # the file stays; nobody listens: a supervisor that died
    assert os.path.exists(stale)
    done = run_wrapper(*step_args(tmp_path, "s", 0, socket=str(stale), reconnect_seconds="0.2"), "--", "true")
    assert done.returncode == 0 and (tmp_path / "step-s" / "out").exists()


def test_the_command_for_this_platform_is_chosen_from_platform_commands(tmp_path: Path) -> None:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    commands = json.dumps({f"linux/{machine}": ["sh", "-c", "exit 6"], "linux/other": ["false"]})
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--platform-commands", commands, "--")
    assert done.returncode == 6


def test_no_command_for_this_platform_fails_the_step_and_names_the_platforms(tmp_path: Path) -> None:
    commands = json.dumps({"linux/s390x-not-here": ["true"], "windows/amd64": ["true"]})
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--platform-commands", commands, "--")
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    line = _one_line(done.stderr)
    assert "no command for this machine's platform (linux/" in line and "windows/amd64" in line
    _recorded_failure(tmp_path, "s", exits.EXIT_WRAPPER_ERROR)


def test_a_tee_file_that_cannot_be_opened_fails_the_step_when_its_turn_comes(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "plain-file"
    not_a_dir.write_text("")
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--stdout-path", str(not_a_dir / "stdout"), "--",
                       "sh", "-c", f"echo ran > {tmp_path / 'ran'}")
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    assert "--stdout-path: cannot open" in _one_line(done.stderr)
    assert not (tmp_path / "ran").exists()
    _recorded_failure(tmp_path, "s", exits.EXIT_WRAPPER_ERROR)


def test_a_tee_that_is_a_fifo_nobody_reads_fails_the_step_instead_of_hanging_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--stdout-path", str(tmp_path / "fifo"), "--",
                       "sh", "-c", f"echo ran > {tmp_path / 'ran'}", timeout=10)
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    assert "--stdout-path: cannot open" in _one_line(done.stderr)
    assert not (tmp_path / "ran").exists()
    _recorded_failure(tmp_path, "s", exits.EXIT_WRAPPER_ERROR)


@pytest.mark.parametrize("value", ["inf", "nan"])
@pytest.mark.parametrize("flag", ["--timeout-seconds", "--grace-seconds", "--poll-seconds"])
def test_a_duration_that_is_not_finite_is_a_usage_error(tmp_path: Path, flag: str, value: str) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), flag, value, "--", "true")
    assert done.returncode == exits.EXIT_USAGE
    assert f"{flag}: {value}" in _one_line(done.stderr)
    _recorded_failure(tmp_path, "s", exits.EXIT_USAGE)


def test_an_abbreviated_option_is_unknown_not_guessed(tmp_path: Path) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--time", "0.5", "--", "true")
    assert done.returncode == exits.EXIT_USAGE
    assert "--time" in _one_line(done.stderr)


@pytest.mark.parametrize("argv", [[""], ["", "x"]])
def test_an_empty_command_name_is_not_found_and_recorded(tmp_path: Path, argv: list[str]) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--", *argv)
    assert done.returncode == exits.EXIT_NOT_FOUND
    assert "not found" in _one_line(done.stderr)
    _recorded_failure(tmp_path, "s", exits.EXIT_NOT_FOUND)


def test_a_wrapper_started_with_stdout_closed_exits_with_its_steps_code(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "entrypoint", *step_args(tmp_path, "s", 0), "--", "true"],
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=20,
                          preexec_fn=lambda: os.close(1))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_a_timeout_of_weeks_and_a_huge_grace_run_the_step_as_usual(tmp_path: Path) -> None:
    # 840h (a Task's `timeout: 840h`) is more than epoll can wait for at once: the loop waits in bounded slices
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--timeout-seconds", "3024000", "--grace-seconds", "1e300",
                       "--", "sh", "-c", "sleep 0.3")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "step-s" / "exitCode").read_text() == "0"
