"""`doll run` at its edges: unreadable input, unusable paths, interrupts during cleanup, a dead supervisor."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from running_pods import DOLL, taskrun

ONE_STEP = "steps:\n  - {name: a, image: i, command: ['true']}"


def _doll_run(*args: str, stdin: bytes = b"", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([DOLL, "run", *args], input=stdin, capture_output=True, timeout=120, cwd=cwd,
                          check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def _one_line(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert (done.returncode, done.stdout) == (code, ""), done
    assert done.stderr == f"doll run: {text}\n", done.stderr


def test_a_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe")
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    _one_line(_doll_run("bin.yaml", cwd=tmp_path), 2, "bin.yaml: not UTF-8 text (byte 0xff at offset 0)")
    _one_line(_doll_run("t.yaml", "-f", "bin.yaml", cwd=tmp_path), 2,
              "bin.yaml: not UTF-8 text (byte 0xff at offset 0)")
    _one_line(_doll_run("-", stdin=b"kind: \xfe", cwd=tmp_path), 2, "<stdin>: not UTF-8 text (byte 0xfe at offset 6)")


def test_an_unwritable_report_is_refused_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    _one_line(_doll_run("t.yaml", "--report", "/nonexistent/dir/r.json", cwd=tmp_path), 2,
              "--report /nonexistent/dir/r.json: no such directory /nonexistent/dir")
    _one_line(_doll_run("t.yaml", "--report", str(tmp_path), cwd=tmp_path), 2, f"--report {tmp_path}: is a directory")


@pytest.mark.podman
def test_an_unusable_workdir_is_one_line_and_exit_2(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    _one_line(_doll_run("t.yaml", "--image", busybox_image, "--workdir", "/etc/passwd/x", cwd=tmp_path), 2,
              "--workdir /etc/passwd/x: Not a directory")
