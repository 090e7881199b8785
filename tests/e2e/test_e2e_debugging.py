"""Debug holds under podman: `podman exec` (the local `kubectl exec`) into a held step, then go on."""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from running_pods import DOLL, taskrun
from generator.local.pod_watching import JournalWatch

pytestmark = pytest.mark.podman

BUSYBOX = "localhost/doll-busybox:1"


def _start(tmp_path: Path, pods: list[str], image: str, name: str, yaml_text: str,
           *args: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    pods.append(f"{name}-pod")
    (tmp_path / "taskrun.yaml").write_text(yaml_text)
    out = tmp_path / "out.txt"
    with open(out, "wb") as sink:
        proc = subprocess.Popen([DOLL, "run", str(tmp_path / "taskrun.yaml"), "--image", image,
                                 "--workdir", str(tmp_path / "work"), "--report", str(tmp_path / "report.json"),
                                 *args], stdout=sink, stderr=subprocess.STDOUT)
    return proc, out, tmp_path / "work" / "volumes" / "doll-run"


def _wait_held(proc: subprocess.Popen[bytes], run_volume: Path, out: Path, timeout: float = 120) -> dict[str, Any]:
    journal = JournalWatch(run_volume)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = journal.reading()
        if status is not None and status.get("hold"):
            return status
        if proc.poll() is not None:
            raise AssertionError(f"doll run ended (exit {proc.returncode}) with no hold:\n{out.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"no hold within {timeout} s:\n{out.read_text()}")


def _printed(out: Path, text: str, timeout: float = 30) -> str:
    """doll run's output once it has printed `text` (it notices the hold on its next poll)."""
    deadline = time.monotonic() + timeout
    while text not in (printed := out.read_text()):
        if time.monotonic() > deadline:
            raise AssertionError(f"doll run did not print {text!r} within {timeout} s:\n{printed}")
        time.sleep(0.1)
    return printed


def _finish(proc: subprocess.Popen[bytes], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    code = proc.wait(timeout=120)
    return code, json.loads((tmp_path / "report.json").read_text())


@contextlib.contextmanager
def _stopped_at_the_end(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """doll run is killed if the test ends (or fails) while it still runs."""
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _continued(printed: str, tmp_path: Path, proc: subprocess.Popen[bytes]) -> tuple[int, dict[str, Any]]:
    """Run the `continue:` command doll run printed for the held step, then wait for the run's end."""
    done = _exec(printed.split("continue:", 1)[1].split("\n", 1)[0].strip())
    # 137: the step's container ends as soon as its wrapper goes on, killing the exec'd command with it
    assert done.returncode in (0, 137), done.stdout + done.stderr
    return _finish(proc, tmp_path)


def _exec(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)


def test_a_step_held_on_failure_is_open_to_podman_exec_and_continued_with_the_printed_command(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: flaky
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo evidence > /tmp/left-behind
      exit 7
  - name: after
    image: {BUSYBOX}
    command: [sh, -c, "echo after ran"]
"""
    proc, out, run_volume = _start(tmp_path, pods, doll_image, "e2e-hold-failure",
                                   taskrun("e2e-hold-failure", spec), "--debug-on-failure")
    with _stopped_at_the_end(proc):
        status = _wait_held(proc, run_volume, out)
        assert status["hold"]["step"] == "flaky" and status["hold"]["reason"] == "onFailure"
        printed = _printed(out, "continue:")  # doll run polls every 0.25 s, then prints the commands
        shell = printed.split("open a shell:", 1)[1].split("\n", 1)[0].strip()
        assert shell == "podman exec -it e2e-hold-failure-pod-step-flaky sh"
        inside = _exec(shell.replace(" -it ", " ") + " -c 'cat /tmp/left-behind'")
        assert inside.stdout == "evidence\n", inside.stderr  # the failed step's container, files intact
        assert "after ran" not in printed
        code, report = _continued(printed, tmp_path, proc)
    output = out.read_text()
    assert code == 0, output
    assert "[after] after ran" in output
    assert report["outcome"] == "Succeeded"


def test_a_before_step_breakpoint_holds_the_step_until_continued(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: first
    image: {BUSYBOX}
    command: [sh, -c, "echo first ran"]
  - name: second
    image: {BUSYBOX}
    command: [sh, -c, "echo second ran"]
"""
    yaml_text = taskrun("e2e-hold-before", spec, "debug:\n  breakpoints:\n    beforeSteps: [second]")
    proc, out, run_volume = _start(tmp_path, pods, doll_image, "e2e-hold-before", yaml_text)
    try:
        status = _wait_held(proc, run_volume, out)
        assert status["hold"]["step"] == "second" and status["hold"]["reason"] == "beforeStep"
        second = next(s for s in status["steps"] if s["name"] == "second")
        assert second["started_at"] is None
        time.sleep(1.0)
        assert "second ran" not in out.read_text()
        done = _exec("podman exec e2e-hold-before-pod-step-second /doll/bin/entrypoint debug continue")
        assert done.returncode == 0, done.stdout + done.stderr
        code, report = _finish(proc, tmp_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = out.read_text()
    assert code == 0, output
    assert "[second] second ran" in output
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["second"]["started_at"] >= steps["first"]["finished_at"]


PIPELINE_HOLD = f"""apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: e2e-hold-pipeline
spec:
  pipelineSpec:
    tasks:
      - name: flaky
        taskSpec:
          steps:
            - name: try
              image: {BUSYBOX}
              script: |
                #!/bin/sh
                echo evidence > /tmp/left-behind
                exit 7
      - name: steady
        taskSpec:
          steps:
            - {{name: work, image: {BUSYBOX}, command: [sh, -c, "sleep 1; echo steady ran"]}}
      - name: after-flaky
        runAfter: [flaky]
        taskSpec:
          steps:
            - {{name: go, image: {BUSYBOX}, command: [sh, -c, "echo after-flaky ran"]}}
"""


def test_a_failed_step_of_one_pipeline_branch_is_held_while_the_other_branch_finishes(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """`doll run --debug-on-failure` on a PipelineRun holds a failed step of any task (Tekton's
    debug.breakpoints.onFailure, docs/debug.md, which a PipelineRun cannot set: doll's option sets it for every
    task); the independent branch is not held up, and continuing lets the failed task's dependents run."""
    proc, out, run_volume = _start(tmp_path, pods, doll_image, "e2e-hold-pipeline", PIPELINE_HOLD,
                                   "--debug-on-failure")
    with _stopped_at_the_end(proc):
        status = _wait_held(proc, run_volume, out)
        assert status["hold"]["step"] == "flaky-try" and status["hold"]["reason"] == "onFailure"
        printed = _printed(out, "steady ran")  # the other branch goes on while flaky is held
        assert "after-flaky ran" not in printed
        inside = _exec("podman exec e2e-hold-pipeline-pod-step-flaky-try cat /tmp/left-behind")
        assert inside.stdout == "evidence\n", inside.stderr
        code, report = _continued(_printed(out, "continue:"), tmp_path, proc)
    output = out.read_text()
    assert code == 0, output
    assert "[after-flaky/go] after-flaky ran" in output
    assert {t["name"]: t["outcome"] for t in report["tasks"]} == {
        "flaky": "Succeeded", "steady": "Succeeded", "after-flaky": "Succeeded"}
