"""A step whose container exits without a word to the supervisor ends the run at once, not at the task's
timeout (generator/local/stalling.py)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from running_pods import DOLL, taskrun

pytestmark = pytest.mark.podman


def test_a_step_container_that_died_while_the_supervisor_waited_for_it_ends_the_run_with_a_clear_reason(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    pods.append("e2e-stall-pod")
    steps = ", ".join([f'{{name: s1, image: {busybox_image}, command: [sh, -c, "echo s1 started; sleep 2"]}}'] + [
        f"{{name: s{i}, image: {busybox_image}, command: [echo, s{i} ran]}}" for i in (2, 3)])
    (tmp_path / "t.yaml").write_text(taskrun("e2e-stall", f"steps: [{steps}]"))
    report = tmp_path / "report.json"
    began = time.monotonic()
    proc = subprocess.Popen([DOLL, "run", str(tmp_path / "t.yaml"), "--image", doll_image, "--report", str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line == "[s1] s1 started\n":  # s2's wrapper waits for its turn: killed, it never reports
                subprocess.run(["podman", "kill", "--signal", "KILL", "e2e-stall-pod-step-s2"], check=True,
                               capture_output=True)
                break
        rest, errors = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = "".join(lines) + rest
    assert proc.returncode == 1 and time.monotonic() - began < 60, output + errors
    assert ("doll: step s2: its container exited 137 without a word to the supervisor, which would wait for it "
            "until the task's timeout; ending the run\n") in output, output
    assert "\ntask: Failed (StepContainerFailed)\n" in output and "[s3] s3 ran" not in output, output
    steps = {s["name"]: s for s in json.loads(report.read_text())["steps"]}
    assert (steps["s1"]["exit_code"], steps["s2"]["exit_code"], steps["s2"]["reason"]) == (0, 137, "Error")
    assert steps["s3"]["reason"] == "Skipped"
