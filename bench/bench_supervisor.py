"""Benchmarks of the supervisor, with a real `doll supervise` process and real wrapper processes.

    .venv/bin/python bench/bench_supervisor.py [--steps 201] [--starts 10]

Prints tables of medians / p99 measured in this one run:
  1. release latency over >= 200 steps: step exit (the child's end, as the wrapper saw it) -> next step
     released (journal), and the supervisor's own part (exit report received -> release sent);
  2. supervisor peak RSS and CPU time for a run of 100 steps and 20 sidecars (wait4 rusage): without the
     Kubernetes API, and publishing to a fake in-cluster API server (tests/supervisor/fake_kube_api.py, real
     TLS) with each `--kube-client`;
  3. process start -> control socket accepting, and -> step 0 released with no sidecars;
  4. a sidecar's probe first succeeding -> step 0 released (target <= 50 ms).
Targets (issue 3): release p99 <= 3 ms, RSS <= 60 MB, start -> step 0 <= 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_entrypoint import RUN_ROOT, build  # bench/ is on sys.path: this script's directory
from settling import wait_until_idle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "supervisor"))
from fake_kube_api import FakeApi  # noqa: E402
PY = sys.executable
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ENV.pop("KUBERNETES_SERVICE_HOST", None)


# Each step: what ships (the packaged wrapper, as bench_entrypoint builds it) running a 50 ms command.  With
# `true`, each hand-off overlapped the exit of the wrapper before it (a process teardown on a 2-core machine),
# which steps of any real length do not.
STEP = ("sleep", "0.05")


@functools.lru_cache(maxsize=None)
def packaged_wrapper() -> str:
    return str(build()[0])


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Run:
    def __init__(self, steps: int, sidecars: list[dict[str, Any]] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="doll-bench-", dir=RUN_ROOT))
        self.run_dir, self.steps_dir = self.root / "run", self.root / "steps"
        self.run_dir.mkdir()
        self.steps_dir.mkdir()
        self.socket = str(self.run_dir / "control.sock")
        self.names = [f"s{i}" for i in range(steps)]
        self.plan = {"steps": [{"name": n, "index": i, "container": n} for i, n in enumerate(self.names)],
                     "sidecars": sidecars or [], "run_dir": str(self.run_dir), "steps_dir": str(self.steps_dir),
                     "metrics_port": free_port(), "linger_seconds": 0, "publish_to_api": False}
        (self.root / "plan.json").write_text(json.dumps(self.plan))

    def wrapper(self, i: int) -> subprocess.Popen[bytes]:
        name = self.names[i]
        d = self.steps_dir / f"step-{name}"
        argv = [packaged_wrapper(), "--name", name, "--index", str(i), "--socket", self.socket,
                "--post-file", str(d / "out"), "--step-dir", str(d), "--socket-wait-seconds", "300"]
        if i:
            argv += ["--wait-file", str(self.steps_dir / f"step-{self.names[i - 1]}" / "out")]
        return subprocess.Popen(argv + ["--", *STEP], cwd=ROOT, env=ENV, stderr=subprocess.DEVNULL)

    def supervise(self, args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen([PY, "-m", "generator.cli", "supervise", "--plan", str(self.root / "plan.json"),
                                 *args], cwd=ROOT, env=env or ENV, stderr=subprocess.DEVNULL)

    def steps_in_window(self, ahead: int = 6) -> None:
        """Keep `ahead` wrappers waiting (all of them at once would only measure the machine's fork rate)."""
        procs: list[subprocess.Popen[bytes]] = []
        for i in range(len(self.names)):
            if i >= ahead:
                procs[i - ahead].wait()
            procs.append(self.wrapper(i))
        for p in procs:
            p.wait()

    def journal(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (self.run_dir / "journal.jsonl").read_text().splitlines()]

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def wait4(proc: subprocess.Popen[bytes]) -> tuple[int, float, float]:
    """(exit code, peak RSS MB, CPU seconds) of a child, from the kernel's rusage."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def release_latency(steps: int) -> None:
    """Every wrapper is up and asleep before step 0's wrapper starts the chain, so nothing else competes for
    the CPU (in a Pod the step containers start together, long before the later hand-offs).  The supervisor
    starts first: a wrapper waiting for the socket to appear polls it every 10 ms, 200 of them never settle;
    connected ones sleep until they are released."""
    run = Run(steps)
    try:
        sup = run.supervise()
        while not os.path.exists(run.socket):
            time.sleep(0.005)
        wrappers = [run.wrapper(i) for i in range(1, steps)]
        wait_until_idle([w.pid for w in wrappers] + [sup.pid])  # started, said hello, asleep; supervisor too
        wrappers.append(run.wrapper(0))
        code, _, _ = wait4(sup)
        for w in wrappers:
            w.wait(60)
        journal = run.journal()
        finished = {r["step"]: r for r in journal if r["ev"] == "finished"}
        released = {r["step"]: r for r in journal if r["ev"] == "released"}
        started = {r["step"]: r["at"] for r in journal if r["ev"] == "started"}
        exit_to_release, exit_to_start, internal, reporting = [], [], [], []
        for prev, nxt in zip(run.names, run.names[1:]):
            exit_to_release.append((released[nxt]["at"] - finished[prev]["finished_at"]) * 1e3)
            reporting.append((finished[prev]["at"] - finished[prev]["finished_at"]) * 1e3)
            if nxt in started:
                exit_to_start.append((started[nxt] - finished[prev]["finished_at"]) * 1e3)
            if released[nxt].get("handoff") is not None:
                internal.append(released[nxt]["handoff"] * 1e3)
        print(f"\n1. release latency, {steps} steps (`sleep 0.05`), packaged wrappers, supervisor exit {code}")
        print(f"{'measure':<58} {'n':>4} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
        for label, values in (("step exit -> next step released (journal)", exit_to_release),
                              ("  of which: step exit -> supervisor records the report", reporting),
                              ("  of which: exit report received -> release recorded", internal),
                              ("step exit -> next child started (incl. wrapper wake-up)", exit_to_start)):
            print(f"{label:<58} {len(values):>4} {statistics.median(values):>10.3f} {pct(values, 99):>8.3f} "
                  f"{max(values):>8.3f}")
    finally:
        run.close()


class FakeApiServer:
    """The tests' fake Kubernetes API server (real TLS, token, merge patches, Events), in a thread of its own."""

    def __init__(self, directory: Path) -> None:
        self.fake = FakeApi(directory, namespace="ci", pods=("bench",))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.env = asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(60)

    def delivered(self) -> int:
        return sum(1 for _, code in self.fake.requests if code in (200, 201))

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        self.loop.close()


def _footprint_run(steps: int, sidecars: int, port: int,
                   kube_client: str | None) -> tuple[int, float, float, float, str, str]:
    cars = [{"name": f"c{i}", "container": f"c{i}"} | ({"probe": {"kind": "tcpSocket", "port": port}} if i % 2 else {})
            for i in range(sidecars)]
    run = Run(steps, cars)
    env, args, api = dict(ENV), (), None
    if kube_client is not None:  # in-cluster: the supervisor publishes every record to the fake API server
        api = FakeApiServer(run.root)
        env.update(api.env)
        args = ("--kube-client", kube_client)
        run.plan.update(publish_to_api=True, pod={"name": "bench", "namespace": "ci"})
        (run.root / "plan.json").write_text(json.dumps(run.plan))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.monotonic()
        sup = run.supervise(args, env)
        for car in cars:
            procs.append(subprocess.Popen([PY, "-m", "entrypoint", "--name", car["name"], "--sidecar", "--socket",
                                           run.socket, "--", "sleep", "600"], cwd=ROOT, env=ENV,
                                          stderr=subprocess.DEVNULL))
        run.steps_in_window()
        code, rss, cpu = wait4(sup)
        wall = time.monotonic() - t0
        for p in procs:
            p.wait(30)
        outcome = next(r["outcome"] for r in run.journal() if r["ev"] == "run_finished")
        return code, rss, cpu, wall, outcome, "-" if api is None else str(api.delivered())
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if api is not None:
            api.close()
        run.close()


def footprint(steps: int = 100, sidecars: int = 20) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                listener.accept()[0].close()
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        print(f"\n2. supervisor footprint: {steps} steps + {sidecars} sidecars (half tcpSocket-probed), wait4 rusage;"
              " API calls = Events + patches the fake API server accepted")
        print(f"{'variant':<50} {'exit':>4} {'outcome':>10} {'peak RSS MB':>12} {'CPU s':>7} {'wall s':>7} "
              f"{'API calls':>9}")
        for label, kube_client in (("no Kubernetes API (publishing off)", None),
                                   ("in-cluster, --kube-client http (default)", "http"),
                                   ("in-cluster, --kube-client kubernetes-asyncio", "kubernetes-asyncio")):
            code, rss, cpu, wall, outcome, calls = _footprint_run(steps, sidecars, port, kube_client)
            print(f"{label:<50} {code:>4} {outcome:>10} {rss:>12.1f} {cpu:>7.2f} {wall:>7.2f} {calls:>9}")
    finally:
        stop.set()
        listener.close()


def starts(n: int) -> None:
    to_socket, to_release, to_child = [], [], []
    for _ in range(n):
        run = Run(1)
        try:
            step = run.wrapper(0)  # already waiting for the socket, as in a Pod
            time.sleep(0.3)
            t_wall, t0 = time.time(), time.monotonic()
            sup = run.supervise()
            while True:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    try:
                        s.connect(run.socket)
                        to_socket.append((time.monotonic() - t0) * 1e3)
                        break
                    except OSError:
                        time.sleep(0.0005)
            step.wait(30)
            wait4(sup)
            journal = run.journal()
            to_release.append((next(r["at"] for r in journal if r["ev"] == "released") - t_wall) * 1e3)
            to_child.append((next(r["started_at"] for r in journal if r["ev"] == "finished") - t_wall) * 1e3)
        finally:
            run.close()
    print(f"\n3. supervisor start ({n} starts, `python -m generator.cli supervise`, step 0's wrapper waiting)")
    print(f"{'measure':<44} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
    for label, values in (("process start -> control socket accepting", to_socket),
                          ("process start -> step 0 released (no sidecars)", to_release),
                          ("process start -> step 0's child started", to_child)):
        print(f"{label:<44} {statistics.median(values):>10.1f} {pct(values, 99):>8.1f} {max(values):>8.1f}")


def sidecar_release(n: int) -> None:
    """A sidecar whose TCP port opens after 0.3 s; step 0's wrapper waiting: probe success -> release."""
    gaps = []
    for _ in range(n):
        port = free_port()
        run = Run(1, [{"name": "db", "container": "db", "probe": {"kind": "tcpSocket", "port": port}}])
        try:
            step = run.wrapper(0)
            car = subprocess.Popen([PY, "-m", "entrypoint", "--name", "db", "--sidecar", "--socket", run.socket, "--",
                                    PY, "-c", "import socket,time; time.sleep(0.3); s=socket.socket(); "
                                    f"s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(600)"],
                                   cwd=ROOT, env=ENV, stderr=subprocess.DEVNULL)
            sup = run.supervise()
            step.wait(60)
            wait4(sup)
            car.wait(30)
            journal = run.journal()
            ready = next(r["at"] for r in journal if r["ev"] == "sidecar_ready")
            gaps.append((next(r["at"] for r in journal if r["ev"] == "released") - ready) * 1e3)
        finally:
            run.close()
    print(f"\n4. sidecar readiness -> step 0 released ({n} runs, tcpSocket probe, 50 ms period)")
    print(f"{'measure':<44} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
    print(f"{'probe first succeeds -> step 0 released':<44} {statistics.median(gaps):>10.3f} {pct(gaps, 99):>8.3f} "
          f"{max(gaps):>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=201)
    parser.add_argument("--starts", type=int, default=10)
    ns = parser.parse_args()
    print(f"doll supervisor benchmark  ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, Python "
          f"{sys.version.split()[0]})")
    release_latency(ns.steps)
    footprint()
    starts(ns.starts)
    sidecar_release(ns.starts)


if __name__ == "__main__":
    main()
