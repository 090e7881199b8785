"""A Pipeline in one Pod against Tekton's shape, one Pod per task, both under podman in one run.

    .venv/bin/python bench/bench_pipeline.py [--repeat 3] [--image localhost/doll:dev]

The Pipeline: `first`, then `a`, `b`, `c` in parallel, then `last`, then the finally task `report`; each task
two short steps (`write` appends a line to a file in the shared workspace, `check` reads it back).

  one-pod     doll as generated for the PipelineRun (classic layout): the supervisor releases each task's
              first step as soon as the tasks it runs after are done
  pod-per-task
              Tekton's shape: each task its own doll Pod (its TaskRun, as doll generates it), played only once
              the runs of the tasks it runs after are decided, their steps done (what Tekton's controller waits
              for; this script plays the controller, reading each Pod's journal every 20 ms; the three
              parallel tasks' Pods are played at once);
              the workspace is one host directory mounted into every Pod, as a PersistentVolumeClaim would be

The variants alternate (one-pod, pod-per-task, one-pod, ...).  Measured: wall time from the first
`kube play` to the run's outcome (the last task's steps done: a PipelineRun's completion), and to every
container exited; task hand-off: from the end of a task's last step to the start
of each dependent's first step, counted from the last of the tasks it waits for (median over the tasks that wait), and step hand-off: from a step's end
to the next step of the same task (median), both from the wrappers' own records (post files).  Needs podman,
the doll image (scripts/build-image) and busybox (scripts/make-busybox-image).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CONTAINERS_CONF", str(ROOT / "scripts" / "containers.conf"))

from generator.local import podman  # noqa: E402
from generator.local.localizing import free_port, localize  # noqa: E402
from generator.local.pod_watching import JournalWatch, fetching  # noqa: E402
from generator.tekton import naming  # noqa: E402
from generator.tekton.generating import GenerateOptions, generate  # noqa: E402
from generator.tekton.translating import translate  # noqa: E402

BUSYBOX = "localhost/doll-busybox:1"
DAG = {"first": [], "a": ["first"], "b": ["first"], "c": ["first"], "last": ["a", "b", "c"]}
FINALLY = "report"
STEPS = ("write", "check")


def _task_spec(task: str, indent: str) -> list[str]:
    return [f"{indent}workspaces: [{{name: ws}}]", f"{indent}steps:",
            f"{indent}  - name: write", f"{indent}    image: {BUSYBOX}",
            f"{indent}    command: [sh, -c, 'echo {task} >> $(workspaces.ws.path)/log']",
            f"{indent}  - name: check", f"{indent}    image: {BUSYBOX}",
            f"{indent}    command: [grep, -q, {task}, $(workspaces.ws.path)/log]"]


def pipeline_run(name: str) -> str:
    lines = ["apiVersion: tekton.dev/v1", "kind: PipelineRun", f"metadata: {{name: {name}}}", "spec:",
             "  workspaces: [{name: shared, emptyDir: {}}]", "  pipelineSpec:", "    workspaces: [{name: shared}]",
             "    tasks:"]
    for task, after in DAG.items():
        lines += [f"      - name: {task}", f"        runAfter: {json.dumps(after)}",
                  "        workspaces: [{name: ws, workspace: shared}]", "        taskSpec:",
                  *_task_spec(task, "          ")]
    lines += ["    finally:", f"      - name: {FINALLY}", "        workspaces: [{name: ws, workspace: shared}]",
              "        taskSpec:", *_task_spec(FINALLY, "          ")]
    return "\n".join(lines) + "\n"


def task_run(name: str, task: str) -> str:
    return "\n".join(["apiVersion: tekton.dev/v1", "kind: TaskRun", f"metadata: {{name: {name}}}", "spec:",
                      "  workspaces: [{name: ws, emptyDir: {}}]", "  taskSpec:", *_task_spec(task, "    ")]) + "\n"


def _record(steps_dir: Path, step: str) -> dict[str, Any]:
    for post in ("out", "out.err"):
        path = steps_dir / f"step-{step}" / post
        if path.exists():
            data: dict[str, Any] = json.loads(path.read_text())
            if data.get("exit_code") != 0:
                raise RuntimeError(f"step {step} failed: {data}")
            return data
    raise RuntimeError(f"step {step}: no post file in {steps_dir}")


class Played:
    """One Pod played under podman, localized into `work`; `wait()` returns once every container exited."""

    def __init__(self, pod: dict[str, Any], work: Path, shared: Path | None = None) -> None:
        self.name = pod["metadata"]["name"]
        self.port = free_port()
        self.local = localize(pod, work / self.name, self.port)
        if shared is not None:  # the workspace: one host directory, as a PVC would be
            for volume in self.local.pod["spec"]["volumes"]:
                if volume["name"] == naming.workspace_volume("ws"):
                    volume["hostPath"] = {"path": str(shared), "type": "Directory"}
        self.journal = JournalWatch(self.local.volumes["doll-run"])

    def play(self) -> None:
        podman.playing(json.dumps(self.local.pod))

    def wait_outcome(self, deadline: float) -> None:
        """Until the supervisor has decided the run (what Tekton's controller waits for: the steps are done)."""
        while not (status := self.journal.reading()) or not status.get("outcome"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: no outcome in time")
            time.sleep(0.02)
        fetching(self.port, "/metrics", timeout=0.2)  # the final scrape: the supervisor stops lingering

    def wait_exited(self, deadline: float) -> None:
        """Until every container of the Pod has exited (scraping /metrics, or the supervisor lingers for it)."""
        while True:
            fetching(self.port, "/metrics", timeout=0.2)
            states = podman.pod_containers(self.name)
            if states and all(s == "exited" for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: not complete in time: {states}")
            time.sleep(0.05)

    def records(self, prefix: str) -> dict[str, dict[str, Any]]:
        steps_dir = self.local.volumes["doll-steps"]
        return {step: _record(steps_dir, prefix + step) for step in STEPS}


def _handoffs(records: dict[str, dict[str, dict[str, Any]]],
              ready: dict[str, dict[str, float]] | None = None) -> tuple[list[float], list[float]]:
    """(task hand-offs: for each task that waits, from the end of the last task it waits for to its first step's
    start, finally included; step hand-offs inside each task).  With `ready` (each
    step's wrapper's hello, from the supervisor's journal), a hand-off counts from when the next step could
    start: the end of what it waits for, or its container's start when that came later (podman starts a Pod's
    containers one by one, so a short run's first hand-offs would time container starts, not doll)."""
    def since(task: str, step: str, end: float) -> float:
        return max(end, ready[task][step]) if ready is not None else end
    waits = {task: after for task, after in DAG.items() if after}  # a task waits for the LAST of these to end
    waits[FINALLY] = list(DAG)
    tasks = [records[task]["write"]["started_at"] -
             since(task, "write", max(records[before]["check"]["finished_at"] for before in after))
             for task, after in waits.items()]
    steps = [r["check"]["started_at"] - since(t, "check", r["write"]["finished_at"]) for t, r in records.items()]
    return tasks, steps


def one_pod(index: int, image: str, work: Path) -> dict[str, float]:
    name = f"bp-one-{index}"
    pod = translate([("bench.yaml", pipeline_run(name))], {},
                    GenerateOptions(layout="classic", image=image, registry=None))[-1]
    played = Played(pod, work)
    try:
        start = time.monotonic()
        played.play()
        played.wait_outcome(start + 600)
        decided = time.monotonic() - start
        played.wait_exited(start + 600)
        wall = time.monotonic() - start
        records = {task: {step: r for step, r in played.records(f"{task}-").items()}
                   for task in [*DAG, FINALLY]}
        announced = {s["name"]: s["announced_at"] for s in (played.journal.reading() or {}).get("steps", [])}
        ready = {task: {step: announced[f"{task}-{step}"] for step in STEPS} for task in records}
    finally:
        podman.removing_pod(played.name)
    tasks, steps = _handoffs(records)
    ready_tasks, ready_steps = _handoffs(records, ready)
    return {"wall": wall, "decided": decided, "task_handoff": statistics.median(tasks),
            "step_handoff": statistics.median(steps), "ready_task_handoff": statistics.median(ready_tasks), "ready_step_handoff": statistics.median(ready_steps)}


def pod_per_task(index: int, image: str, work: Path) -> dict[str, float]:
    shared = work / f"shared-{index}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    pods = {task: Played(generate([("bench.yaml", task_run(f"bp-pods-{index}-{task}", task))], {},
                                  GenerateOptions(layout="classic", image=image, registry=None))[-1], work, shared)
            for task in [*DAG, FINALLY]}
    waves = [["first"], ["a", "b", "c"], ["last"], [FINALLY]]  # each wave runs after the one before
    try:
        start = time.monotonic()
        for wave in waves:  # the controller: play a wave once its parents' runs are decided
            threads = [threading.Thread(target=pods[task].play) for task in wave]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for task in wave:
                pods[task].wait_outcome(start + 600)
        decided = time.monotonic() - start
        for played in pods.values():
            played.wait_exited(start + 600)
        wall = time.monotonic() - start
        records = {task: pods[task].records("") for task in pods}
    finally:
        for played in pods.values():
            podman.removing_pod(played.name)
    tasks, steps = _handoffs(records)
    return {"wall": wall, "decided": decided, "task_handoff": statistics.median(tasks),
            "step_handoff": statistics.median(steps)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--image", default="localhost/doll:dev")
    ns = p.parse_args()
    problem = podman.checking_podman()
    if problem:
        print(f"bench_pipeline: {problem}", file=sys.stderr)
        return 3
    rows: dict[str, list[dict[str, float]]] = {"one-pod": [], "pod-per-task": []}
    work = Path(tempfile.mkdtemp(prefix="doll-bench-pipeline-"))
    try:
        for i in range(ns.repeat):  # alternating
            rows["one-pod"].append(one_pod(i, ns.image, work))
            rows["pod-per-task"].append(pod_per_task(i, ns.image, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def med(variant: str, key: str) -> float:
        return statistics.median(r[key] for r in rows[variant])

    print(f"6 tasks (1, then 3 in parallel, then 1, then finally), 2 steps each, classic layout, podman "
          f"{podman.podman('version', '--format', '{{.Client.Version}}').strip()}, median of {ns.repeat} runs each\n")
    print(f"| variant | wall time to the outcome | to every container exited | task hand-off | step hand-off |\n"
          f"|---|---|---|---|---|")
    for variant in rows:
        print(f"| {variant} | {med(variant, 'decided'):.2f} s | {med(variant, 'wall'):.2f} s | "
              f"{med(variant, 'task_handoff') * 1000:.1f} ms | {med(variant, 'step_handoff') * 1000:.1f} ms |")
    print(f"| one-pod, from the next container's start when later | | | "
          f"{med('one-pod', 'ready_task_handoff') * 1000:.1f} ms | {med('one-pod', 'ready_step_handoff') * 1000:.1f} ms |")
    print(f"\nwall time to the outcome, pod-per-task / one-pod: "
          f"{med('pod-per-task', 'decided') / med('one-pod', 'decided'):.2f}x; to every container exited: "
          f"{med('pod-per-task', 'wall') / med('one-pod', 'wall'):.2f}x "
          f"(target >= 3x); one-pod task hand-off / step hand-off, both from the next container's start when later: "
          f"{med('one-pod', 'ready_task_handoff') / med('one-pod', 'ready_step_handoff'):.2f}x (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
