"""Running the child: exit codes, its own process group, signal forwarding, timeout and grace, tee, env."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from entrypoint_helpers import finish, run_wrapper, step_args, wait_for, wrapper

from entrypoint import protocol


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("code", [0, 1, 42, 255])
def test_the_childs_exit_code_passes_through(code: int) -> None:
    assert run_wrapper("--name", "s", "--", "sh", "-c", f"exit {code}").returncode == code


def test_a_child_killed_by_a_signal_exits_128_plus_the_signal(tmp_path: Path) -> None:
    done = run_wrapper(*step_args(tmp_path, "s", 0), "--", "sh", "-c", "kill -9 $$")
    assert done.returncode == 128 + 9
    assert (tmp_path / "step-s" / "exitCode").read_text() == "137"


def test_the_child_runs_in_its_own_process_group(tmp_path: Path) -> None:
    out = tmp_path / "ids"
    proc = wrapper("--name", "s", "--", "sh", "-c", f"echo $$ $(cut -d' ' -f5 /proc/$$/stat) > {out}")
    assert finish([proc]) == [0]
    pid, pgid = out.read_text().split()
    assert pid == pgid and int(pgid) != os.getpgid(0)


@pytest.mark.parametrize("sig", [signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT,
                                 signal.SIGWINCH, signal.SIGALRM, signal.SIGPWR])
def test_signals_to_the_wrapper_are_forwarded_to_the_child(tmp_path: Path, sig: signal.Signals) -> None:
    got, ready = tmp_path / "got", tmp_path / "ready"
    name = sig.name[3:]
    proc = wrapper("--name", "s", "--", "sh", "-c",
                   f"trap 'echo {name} > {got}; exit 0' {name}; touch {ready}; "
                   "while :; do sleep 0.05; done")
    wait_for(ready.exists, what="the child's trap")
    proc.send_signal(sig)
    assert finish([proc]) == [0]
    assert got.read_text() == f"{name}\n"


def test_sigterm_gives_the_group_a_grace_period_then_kills_it(tmp_path: Path) -> None:
    pids, ready = tmp_path / "pids", tmp_path / "ready"
    # the child ignores SIGTERM and has a grandchild that ignores it too
    proc = wrapper("--name", "s", "--grace-seconds", "0.5", "--", "sh", "-c",
                   f"trap '' TERM; sh -c 'trap \"\" TERM; sleep 60' & echo $! > {pids}; touch {ready}; "
                   "while :; do sleep 0.05; done")
    wait_for(ready.exists, what="the child")
    grandchild = int(pids.read_text())
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert finish([proc]) == [128 + 9]
    assert 0.4 < time.monotonic() - start < 5
    wait_for(lambda: not _alive(grandchild), timeout=3, what="the grandchild to die")


def test_step_timeout_kills_child_and_grandchildren(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    start = time.monotonic()
    done = run_wrapper(*step_args(tmp_path, "slow", 0, timeout_seconds="0.5", grace_seconds="0.3"), "--",
                       "sh", "-c", f"sleep 60 & echo $! > {pids}; sh -c 'trap \"\" TERM; sleep 60' & wait")
    assert done.returncode == protocol.EXIT_TIMEOUT
    assert time.monotonic() - start < 10
    assert not _alive(int(pids.read_text()))
    record = json.loads((tmp_path / "step-slow" / "out.err").read_text())
    assert record["reason"] == "TimeoutExceeded" and "timed out after 0.5s" in record["message"]
    term = json.loads((tmp_path / "step-slow" / "termination").read_text())
    assert {"key": "Reason", "value": "TimeoutExceeded", "type": 3} in term


def test_background_jobs_left_by_the_child_are_killed_when_it_exits(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    assert run_wrapper("--name", "s", "--", "sh", "-c", f"sleep 60 & echo $! > {pids}").returncode == 0
    wait_for(lambda: not _alive(int(pids.read_text())), timeout=3, what="the background job to die")


def test_stdout_and_stderr_are_teed_to_files(tmp_path: Path) -> None:
    out, err = tmp_path / "o" / "stdout", tmp_path / "e" / "stderr"
    done = run_wrapper("--name", "s", "--stdout-path", str(out), "--stderr-path", str(err), "--",
                       "sh", "-c", "echo to-out; echo to-err >&2")
    assert done.returncode == 0
    assert done.stdout == "to-out\n" and "to-err\n" in done.stderr
    assert out.read_text() == "to-out\n" and err.read_text() == "to-err\n"


def test_the_child_sees_a_clean_environment() -> None:
    env = dict(os.environ, _PYI_APPLICATION_HOME_DIR="/doll/bin", _MEIPASS2="/doll/bin",
               STATICX_PROG_PATH="/x", LD_LIBRARY_PATH="/doll/bin", LD_LIBRARY_PATH_ORIG="/usr/local/lib",
               KEEP_ME="yes")
    done = run_wrapper("--name", "s", "--", "env", env=env)
    seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert seen["KEEP_ME"] == "yes"
    assert seen["LD_LIBRARY_PATH"] == "/usr/local/lib"
    assert not [k for k in seen if k.startswith(("_PYI", "_MEIPASS", "STATICX")) or k.endswith("_ORIG")]
