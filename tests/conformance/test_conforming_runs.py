"""What only running shows: one small TaskRun under `doll run` (podman) for the steps' conformance items."""

from __future__ import annotations

from pathlib import Path

import pytest
from running_pods import doll_run, taskrun

STEPS = """
steps:
  - image: IMAGE
    args: [-c, 'echo "unnamed in $(pwd)"']
  - name: build
    image: IMAGE
    workingDir: src/app
    script: |
      ls -ld . | cut -c1-10
      echo built > out.txt && pwd && cat out.txt
  - name: skipped
    image: IMAGE
    command: ['false']
    when: [{input: $(params.mode), operator: in, values: [slow]}]
"""


@pytest.mark.podman
def test_unnamed_args_only_working_dir_and_when_steps_run_as_tekton_runs_them(
        tmp_path: Path, pods: list[str], doll_image: str, busybox_image: str) -> None:
    """One pod for four documented behaviours:
    - pkg/pod/pod.go StepName: the unnamed step is `unnamed-0`;
    - pkg/pod/entrypoint_lookup_impl.go imageInfo: args on busybox (Cmd ["sh"], no Entrypoint) run `sh -c ...`;
    - pkg/pod/workingdir_init.go: a relative workingDir is created below /workspace before the steps, and the
      step runs there (doll init makes it world-writable: drwxrwxrwx);
    - docs/stepactions.md (step when): a step whose when is false does not run, and the task succeeds."""
    text = taskrun("conf-steps", STEPS.replace("IMAGE", busybox_image), "params: [{name: mode, value: fast}]")
    run = doll_run(tmp_path, pods, doll_image, text)
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("unnamed-0") == ["unnamed in /workspace"]
    assert run.logged("build") == ["drwxrwxrwx", "/workspace/src/app", "built"]
    assert [s["name"] for s in run.report["steps"]] == ["unnamed-0", "build"]
    assert "step 'skipped' is skipped: its when 'fast' in ['slow'] is false" in run.errors
