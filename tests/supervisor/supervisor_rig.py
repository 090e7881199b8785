"""A Pod on a temporary directory: a real `doll supervise` process and real wrapper processes.

Paths are short (under /tmp) so the control socket fits in sun_path.  Each step's command appends its
name to `order` when it starts, so tests can see exactly what ran, in which order, how many times.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


_SUPERVISE_WITH_TIMINGS = """
import json, sys
from supervisor.main import main
from supervisor.timings import Timings
sys.exit(main(sys.argv[2:], Timings(**json.loads(sys.argv[1]))))
"""


class Pod:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="doll-", dir="/tmp"))
        self.run_dir = self.root / "run"
        self.steps_dir = self.root / "steps"
        self.run_dir.mkdir()
        self.steps_dir.mkdir()
        self.socket = str(self.run_dir / "control.sock")  # the admin socket: doll ctl
        self.channels_dir = self.root / "ch"  # each wrapper's own channel, as in a Pod
        self.order_file = self.root / "order"
        self.port = free_port()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.supervisors: list[subprocess.Popen[bytes]] = []
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.env.pop("KUBERNETES_SERVICE_HOST", None)
        self.env["POD_IP"] = "127.0.0.1"  # the rig's Pod IP (the generator sets it from status.podIP)

    # --- the plan and the supervisor ------------------------------------------------------------

    def plan(self, steps: list[str] | list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
        entries = [s if isinstance(s, dict) else {"name": s} for s in steps]
        plan = {
            "steps": [{"index": i, "container": f"step-{e['name']}", **e} for i, e in enumerate(entries)],
            "run_dir": str(self.run_dir), "steps_dir": str(self.steps_dir), "metrics_port": self.port,
            "channels_dir": str(self.channels_dir),
            "linger_seconds": 0.2, "publish_to_api": False, "pod": {"name": "pod-1", "namespace": "ci"},
            **overrides,
        }
        (self.root / "plan.json").write_text(json.dumps(plan))
        return plan

    def supervise(self, env: dict[str, str] | None = None, args: list[str] | None = None,
                  timings: dict[str, float] | None = None) -> subprocess.Popen[bytes]:
        """Start `doll supervise`; `timings` (supervisor.timings.Timings' fields) shorten its waits, passed to
        `supervisor.main.main` as the production code passes its defaults."""
        n = len(self.supervisors)
        argv = args if args is not None else ["--plan", str(self.root / "plan.json")]
        command = [PY, "-m", "generator.cli", "supervise", *argv] if timings is None else \
            [PY, "-c", _SUPERVISE_WITH_TIMINGS, json.dumps(timings), *argv]
        with open(self.root / f"supervisor.{n}.log", "wb") as err:
            proc = subprocess.Popen(command, cwd=ROOT, env={**self.env, **(env or {})}, stderr=err)
        self.supervisors.append(proc)
        self.procs.append(proc)
        return proc

    def supervisor_log(self, n: int = -1) -> list[dict[str, Any]]:
        n = n if n >= 0 else len(self.supervisors) - 1
        lines = (self.root / f"supervisor.{n}.log").read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_socket(self, timeout: float = 10.0) -> None:
        wait_for(lambda: os.path.exists(self.socket), timeout, "the control socket")

    # --- wrappers ------------------------------------------------------------------------------

    def channel(self, kind: str, name: str) -> str:
        """The socket of the step's or sidecar's own channel (in a Pod: its /doll/channel/control.sock)."""
        return str(self.channels_dir / f"{kind}-{name}" / "control.sock")

    def step_argv(self, name: str, index: int, script: str, prev: str | None = None,
                  extra: tuple[str, ...] = ()) -> list[str]:
        d = self.steps_dir / f"step-{name}"
        argv = [PY, "-m", "entrypoint", "--name", name, "--index", str(index), "--socket", self.channel("step", name),
                "--post-file", str(d / "out"), "--step-dir", str(d), *extra]
        if prev is not None:
            argv += ["--wait-file", str(self.steps_dir / f"step-{prev}" / "out")]
        return argv + ["--", "sh", "-c", f"echo {name} >> {self.order_file}; {script}"]

    def step(self, name: str, index: int, script: str = "true", prev: str | None = None,
             extra: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(self.step_argv(name, index, script, prev, extra), cwd=ROOT, env=self.env,
                                stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def steps(self, scripts: dict[str, str], extra: tuple[str, ...] = ()) -> list[subprocess.Popen[bytes]]:
        names = list(scripts)
        return [self.step(n, i, scripts[n], names[i - 1] if i else None, extra) for i, n in enumerate(names)]

    def sidecar(self, name: str, argv: list[str], extra: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([PY, "-m", "entrypoint", "--name", name, "--sidecar", "--socket", self.channel("sidecar", name),
                                 *extra, "--", *argv], cwd=ROOT, env=self.env, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    # --- looking at it ---------------------------------------------------------------------------

    def order(self) -> list[str]:
        return self.order_file.read_text().split() if self.order_file.exists() else []

    def journal(self) -> list[dict[str, Any]]:
        path = self.run_dir / "journal.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def ended(self) -> dict[str, Any]:
        """The run's end as journaled ({} until it ended); not the last record: a wrapper that says hello after
        the end (a skipped step started late) is journaled after it."""
        return next((r for r in self.journal() if r["ev"] == "run_finished"), {})

    def outcome(self) -> str:
        return str(self.ended().get("outcome", ""))

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PY, "-m", "generator.cli", "ctl", "--socket", self.socket, *args], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=20)

    def status(self) -> dict[str, Any]:
        done = self.ctl("--json", "status")
        assert done.returncode == 0, done.stderr
        status: dict[str, Any] = json.loads(done.stdout)["status"]
        return status

    def step_status(self, name: str) -> dict[str, Any]:
        return next(s for s in self.status()["steps"] if s["name"] == name)

    def http(self, path: str, wait: float = 10.0) -> tuple[int, str]:
        """GET on the supervisor's HTTP port, waiting up to `wait` seconds for it to listen."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                    return r.status, r.read().decode()
            except urllib.error.URLError as exc:
                if not isinstance(exc.reason, ConnectionRefusedError) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def finish(self, timeout: float = 30.0) -> int:
        """Wait for every process; return the last supervisor's exit code."""
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            proc.wait(max(0.1, deadline - time.monotonic()))
        code = self.supervisors[-1].returncode
        assert isinstance(code, int)
        return code

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # wrappers take their children's groups down with them
        for proc in self.procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
