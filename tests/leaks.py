"""Leak detection shared by every test: child processes and asyncio tasks a test leaves behind.

The pytest process makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER), so orphaned
grandchildren (a step's background job whose wrapper died) are re-parented to it and cannot hide.
Session-scoped helpers (a registry, a Prometheus server) register their pids with `allow_process`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

PR_SET_CHILD_SUBREAPER = 36
_allowed: set[int] = set()
# the host's, not a test's: podman starts one aardvark-dns for its bridge network the first time a pod needs it,
# it serves every pod after and outlives them by design; it lands here because pytest is the subreaper
_HOST_DAEMONS = ("/usr/lib/podman/aardvark-dns",)


def become_subreaper() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def allow_process(pid: int) -> None:
    """Mark a long-lived helper process (and its descendants) as not a leak."""
    _allowed.add(pid)


def children(pid: int | None = None) -> set[int]:
    pid = pid or os.getpid()
    found: set[int] = set()
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def _host_daemon(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")[0].decode(errors="replace") in _HOST_DAEMONS
    except OSError:
        return False


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        return f"{pid} {cmdline}"
    except OSError:
        return str(pid)


def reap_zombies(candidates: set[int]) -> None:
    for pid in candidates:
        if _is_zombie(pid):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def leaked_processes(before: set[int], grace: float = 3.0) -> list[str]:
    """Children that appeared since `before` and are still running after `grace` seconds (then killed)."""
    deadline = time.monotonic() + grace
    while True:
        new = {pid for pid in children() - before - _allowed if not _host_daemon(pid)}
        reap_zombies(new)
        alive = {pid for pid in new if not _is_zombie(pid) and os.path.exists(f"/proc/{pid}")}
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    described = [_describe(pid) for pid in sorted(alive)]
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if alive:
        time.sleep(0.05)
        reap_zombies(alive)
    return described
