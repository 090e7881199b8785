"""`doll run` through the real CLI, up to the point where podman is needed (the pods themselves: tests/e2e)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DOLL = str(Path(sys.executable).with_name("doll"))

STEP_RESULTS = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: warned}
spec:
  taskSpec:
    steps:
      - name: one
        image: busybox
        script: echo hi > $(step.results.digest.path)
        results: [{name: digest}]
"""


def test_the_generators_warnings_are_printed_by_doll_run_as_by_doll_generate(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(STEP_RESULTS)
    no_podman = {**os.environ, "PATH": str(tmp_path)}  # the input is generated before podman is looked for
    done = subprocess.run([DOLL, "run", "run.yaml"], cwd=tmp_path, env=no_podman, capture_output=True, text=True,
                          timeout=60)
    lines = done.stderr.splitlines()
    assert lines[0].startswith("doll run: warning: run.yaml: spec.taskSpec.steps[0].results: "), done.stderr
    assert done.returncode == 3 and "podman" in lines[-1]


def test_without_podman_a_step_needing_its_images_command_says_podman_is_missing(tmp_path: Path) -> None:
    (tmp_path / "run.yaml").write_text(STEP_RESULTS.replace("        script: echo hi > $(step.results.digest.path)\n"
                                                            "        results: [{name: digest}]\n", ""))
    no_podman = {**os.environ, "PATH": str(tmp_path)}  # the image's command would come from podman's store
    done = subprocess.run([DOLL, "run", "run.yaml"], cwd=tmp_path, env=no_podman, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines() == [done.stderr.splitlines()[0]] and "podman is not installed" in done.stderr
