"""Running the child: exit codes, its own process group, signal forwarding, timeout and grace, tee, env."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from entrypoint_helpers import ROOT, finish, run_wrapper, step_args, wait_for, wrapper

from contracts import exits


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
    assert done.returncode == exits.EXIT_TIMEOUT
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


def test_the_child_starts_with_no_signal_blocked_and_python_s_ignored_ones_at_their_defaults() -> None:
    """Even when the wrapper itself was started with a signal blocked.  (glibc's posix_spawn leaves its own
    two internal signals, 32 and 33, ignored: no program can use them through a libc.)"""
    launcher = ("import os, signal, sys; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2}); "
                "os.execv(sys.executable, [sys.executable, '-m', 'entrypoint', *sys.argv[1:]])")
    done = subprocess.run([sys.executable, "-c", launcher, "--name", "s", "--",
                           "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"],
                          cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    masks = {k: int(v, 16) for k, v in (line.split(":") for line in done.stdout.splitlines())}
    assert masks["SigBlk"] == 0
    assert masks["SigIgn"] & (1 << 31) - 1 == 0  # SIGPIPE and SIGXFSZ, which Python ignores, among them


def test_the_command_is_looked_for_along_the_path_as_exec_does(tmp_path: Path) -> None:
    """A file of that name that cannot be executed is passed over, as execvp passes it over."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "tool").write_text("#!/bin/sh\necho from-first\n")  # not executable
    (second / "tool").write_text("#!/bin/sh\necho from-second\n")
    (second / "tool").chmod(0o755)
    env = dict(os.environ, PATH=f"{first}:{second}:/usr/bin:/bin")
    done = run_wrapper("--name", "s", "--", "tool", env=env)
    assert (done.returncode, done.stdout) == (0, "from-second\n")
    missing = run_wrapper("--name", "s", "--", "no-such-tool", env=env)
    assert missing.returncode == exits.EXIT_NOT_FOUND
    assert missing.stderr.strip().endswith("command 'no-such-tool': not found")


def test_a_file_that_is_no_program_cannot_be_executed(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"\x00\x01 not a program\n")
    garbage.chmod(0o755)
    done = run_wrapper("--name", "s", "--", str(garbage))
    assert done.returncode == exits.EXIT_NOT_EXECUTABLE
    assert done.stderr.strip().endswith(f"command {str(garbage)!r}: cannot be executed: Exec format error")


def test_the_wrappers_own_fds_do_not_reach_the_child_but_inherited_ones_do(tmp_path: Path) -> None:
    """Everything the wrapper opens (tee pipes and files, its wake-up pipe, the selector) is close-on-exec;
    an fd the wrapper was given is passed on, as exec would pass it on."""
    out = tmp_path / "out"
    r, w = os.pipe()
    try:
        proc = wrapper("--name", "s", "--stdout-path", str(out), "--", "ls", "/proc/self/fd", pass_fds=(w,))
        assert finish([proc]) == [0]
    finally:
        os.close(r)
        os.close(w)
    seen = {int(fd) for fd in out.read_text().split()}
    assert {0, 1, 2, w} <= seen and len(seen - {0, 1, 2, w}) <= 1  # and the directory ls reads


def test_a_step_that_does_not_run_leaves_no_tee_files(tmp_path: Path) -> None:
    (tmp_path / "step-a").mkdir()
    (tmp_path / "step-a" / "out.err").write_text("{}")
    out = tmp_path / "o" / "stdout"
    done = run_wrapper(*step_args(tmp_path, "b", 1, "a"), "--stdout-path", str(out), "--", "echo", "ran")
    assert done.returncode == exits.EXIT_SKIPPED
    assert not out.parent.exists()


# Runs the wrapper with a real seccomp filter that makes pidfd_open (434 on every Linux architecture) fail with
# ENOSYS, as on a kernel older than 5.3 or under a container runtime's seccomp profile without it: for every
# process ("all"), or for every one but the wrapper itself ("others": its probe works, its child's pidfd does
# not).  ctypes is the test's, not the wrapper's.
_WITHOUT_PIDFDS = r"""
import ctypes, errno, os, runpy, struct, sys
mode = sys.argv.pop(1)
LD, JEQ, RET, ERR, ALLOW = 0x20, 0x15, 0x06, 0x00050000 | errno.ENOSYS, 0x7FFF0000
if mode == "all":
    prog = [(LD, 0, 0, 0), (JEQ, 0, 1, 434), (RET, 0, 0, ERR), (RET, 0, 0, ALLOW)]
else:  # refused unless args[0] (its low half, at offset 16) is this process
    prog = [(LD, 0, 0, 0), (JEQ, 0, 3, 434), (LD, 0, 0, 16), (JEQ, 1, 0, os.getpid()), (RET, 0, 0, ERR),
            (RET, 0, 0, ALLOW)]
buf = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *insn) for insn in prog))
fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) == 0, ctypes.get_errno()  # PR_SET_SECCOMP, FILTER
try:
    os.pidfd_open(os.getppid())
except OSError as exc:
    print("pidfd_open(other):", errno.errorcode[exc.errno], file=sys.stderr, flush=True)
sys.argv = ["entrypoint", *sys.argv[1:]]
runpy.run_module("entrypoint", run_name="__main__")
"""


@pytest.mark.parametrize("refused", ["all", "others"])
def test_without_pidfds_the_child_is_still_reaped_through_sigchld(tmp_path: Path, refused: str) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _WITHOUT_PIDFDS, refused, *step_args(tmp_path, "s", 0), "--",
                           "sh", "-c", "sleep 0.3; exit 3"], cwd=ROOT, text=True, capture_output=True, timeout=20)
    assert "pidfd_open(other): ENOSYS" in done.stderr
    assert done.returncode == 3
    assert (tmp_path / "step-s" / "exitCode").read_text() == "3"
    assert time.monotonic() - started < 10  # reaped when it ended, not at some timeout


def test_as_pid_1_the_wrapper_reaps_orphans_while_the_step_runs(tmp_path: Path) -> None:
    # a PID namespace of its own (unshare, as a container has): the wrapper is PID 1, the orphans' new parent
    script = ("for i in 1 2 3 4 5; do sh -c 'sleep 0.05 &'; done; sleep 0.6; "
              "ps -eo stat=,comm= > " + str(tmp_path / "ps"))
    done = subprocess.run(["unshare", "--map-root-user", "--fork", "--pid", "--mount-proc", sys.executable, "-m",
                           "entrypoint", "--name", "s", "--", "sh", "-c", script],
                          cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    table = (tmp_path / "ps").read_text().splitlines()
    assert any(line.split()[1] == "sh" for line in table)  # the table was taken inside, while the step ran
    assert [line for line in table if line.startswith("Z")] == []


def test_a_stdout_nobody_reads_does_not_stall_the_timeout_with_a_tee(tmp_path: Path) -> None:
    # the wrapper's stdout is a pipe (a FIFO held open here) that its reader never drains, as when a node's
    # log pipeline stalls: the child blocks on its writes, and the wrapper must still time it out
    fifo = tmp_path / "stdout"
    os.mkfifo(fifo)
    stuck = os.open(fifo, os.O_RDWR)
    try:
        start = time.monotonic()
        proc = wrapper("--name", "s", "--stdout-path", str(tmp_path / "tee"), "--timeout-seconds", "1",
                       "--grace-seconds", "1", "--", "yes", stdout=stuck)
        assert finish([proc], timeout=15) == [exits.EXIT_TIMEOUT]
        assert time.monotonic() - start < 6
    finally:
        os.close(stuck)
    assert (tmp_path / "tee").stat().st_size > 0  # the tee file got what the child wrote meanwhile


def test_a_large_output_reaches_the_tee_and_the_wrappers_stdout_byte_for_byte(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(os.urandom(8 << 20))
    done = subprocess.run([sys.executable, "-m", "entrypoint", "--name", "s", "--stdout-path", str(tmp_path / "tee"),
                           "--", "cat", str(src)], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout == src.read_bytes() == (tmp_path / "tee").read_bytes()
