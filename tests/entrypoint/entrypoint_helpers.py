"""Helpers for the wrapper's tests: run the real wrapper (`python -m entrypoint`) and the stand-in supervisor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STAND_IN = Path(__file__).with_name("stand_in_supervisor.py")


def wrapper(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[str]:
    """Start the real wrapper as a process."""
    return subprocess.Popen([sys.executable, "-m", "entrypoint", *args], cwd=ROOT, text=True,
                            env=env, stdout=kw.pop("stdout", subprocess.PIPE),
                            stderr=kw.pop("stderr", subprocess.PIPE), **kw)


def run_wrapper(*args: str, timeout: float = 20, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "entrypoint", *args], cwd=ROOT, text=True, env=env,
                          capture_output=True, timeout=timeout)


def step_args(root: Path, name: str, index: int, prev: str | None = None, **extra: str) -> list[str]:
    """Options as the generator renders them for step `name` under `root` (one dir per step)."""
    step_dir = root / f"step-{name}"
    args = ["--name", name, "--index", str(index), "--post-file", str(step_dir / "out"),
            "--step-dir", str(step_dir), "--termination-path", str(step_dir / "termination")]
    if prev is not None:
        args += ["--wait-file", str(root / f"step-{prev}" / "out")]
    for key, value in extra.items():
        args += ["--" + key.replace("_", "-"), value] if value != "" else ["--" + key.replace("_", "-")]
    return args


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def catches(pid: int, sig: int) -> bool:
    """Whether process `pid` has a handler for `sig` (its SigCgt mask in /proc)."""
    with open(f"/proc/{pid}/status") as f:
        caught = next(line for line in f if line.startswith("SigCgt:")).split()[1]
    return bool(int(caught, 16) >> (sig - 1) & 1)


def finish(procs: list[subprocess.Popen[str]], timeout: float = 20) -> list[int]:
    codes = []
    for p in procs:
        try:
            p.wait(timeout)
        finally:
            if p.returncode is None:
                p.kill()
                p.wait()
        codes.append(p.returncode)
    for p in procs:
        p.communicate()
    return codes


@dataclass
class StandIn:
    socket: str
    events_path: Path
    process: subprocess.Popen[bytes]

    def events(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]

    def ops(self) -> list[tuple[str, str]]:
        return [(e["op"], e.get("name", e.get("step", ""))) for e in self.events()]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


@contextmanager
def short_dir() -> Iterator[Path]:
    """A directory with a short path (unix socket paths are limited to 107 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="ep", dir="/tmp"))
    try:
        yield d
    finally:
        for p in sorted(d.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        d.rmdir()


@contextmanager
def stand_in(steps: list[str], *flags: str, start: bool = True) -> Iterator[StandIn]:
    """The stand-in supervisor on a fresh socket; killed at the end."""
    with short_dir() as d:
        sock = str(d / "control.sock")
        events = d / "events.jsonl"
        proc = subprocess.Popen([sys.executable, str(STAND_IN), sock, str(events), *steps, *flags])
        s = StandIn(sock, events, proc)
        try:
            if start:
                wait_for(lambda: os.path.exists(sock), what="the stand-in supervisor's socket")
            yield s
        finally:
            s.kill()
