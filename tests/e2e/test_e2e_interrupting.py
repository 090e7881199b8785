"""Ctrl-C on `doll run`: exit 130 and the pod is gone."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from generator.local import podman
from generator.local.pod_watching import JournalWatch
from running_pods import DOLL, taskrun

pytestmark = pytest.mark.podman


def test_interrupting_doll_run_removes_the_pod_and_exits_130(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: long
    image: {busybox_image}
    command: [sleep, "300"]
"""
    pods.append("e2e-interrupt-pod")
    (tmp_path / "t.yaml").write_text(taskrun("e2e-interrupt", spec))
    proc = subprocess.Popen([DOLL, "run", str(tmp_path / "t.yaml"), "--image", doll_image, "--workdir",
                             str(tmp_path / "work")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        journal, deadline = JournalWatch(tmp_path / "work" / "volumes" / "doll-run"), time.monotonic() + 120
        while not any(s["phase"] == "running" for s in (journal.reading() or {}).get("steps", [])):
            assert proc.poll() is None and time.monotonic() < deadline, "the step never started"
            time.sleep(0.1)
        assert podman.pod_containers("e2e-interrupt-pod")["step-long"] == "running"
        proc.send_signal(signal.SIGINT)
        _, errors = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, errors) == (130, "doll run: interrupted\n")
    assert podman.pod_containers("e2e-interrupt-pod") == {}
