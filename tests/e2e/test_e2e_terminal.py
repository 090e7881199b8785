"""On a terminal `doll run` redraws its progress block in place; the final table follows it."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from running_pods import DOLL, taskrun

pytestmark = pytest.mark.podman


def test_on_a_terminal_the_progress_block_is_redrawn_in_place(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    spec = f"""
steps:
  - name: nap
    image: {busybox_image}
    command: [sh, -c, "echo napping; sleep 1.5"]
"""
    pods.append("e2e-tty-pod")
    (tmp_path / "t.yaml").write_text(taskrun("e2e-tty", spec))
    leader, follower = pty.openpty()
    proc = subprocess.Popen([DOLL, "run", str(tmp_path / "t.yaml"), "--image", doll_image],
                            stdout=follower, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    os.close(follower)
    chunks = []
    try:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the other side closed
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=120)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, text
    assert text.count("-- doll run") >= 2  # drawn, then redrawn
    assert "\x1b[" in text and "F\x1b[J" in text  # cursor up N lines, clear to the end
    assert "[nap] napping" in text
    assert "nap: running" in text
    assert "task: Succeeded" in text.split("-- doll run")[-1]
