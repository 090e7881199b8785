"""`doll run` refuses bad input and a missing podman in one line, with no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from running_pods import DOLL, taskrun


def _doll_run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOLL, "run", *args], capture_output=True, text=True, timeout=120, env=env, check=False)


def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _doll_run(str(tmp_path / "nope.yaml"))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"doll run: {tmp_path / 'nope.yaml'}: No such file or directory\n"


def test_a_param_without_a_value_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", "steps:\n  - {name: a, image: i, command: ['true']}"))
    done = _doll_run(str(tmp_path / "t.yaml"), "-p", "novalue")
    assert (done.returncode, done.stderr) == (2, "doll run: -p 'novalue': expected NAME=VALUE\n")


@pytest.mark.podman
def test_an_unsupported_field_is_refused_in_one_line_naming_it(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", "steps:\n  - {name: a, image: i, command: ['true']}\n"
                                                  "frobnicate: 1"))
    done = _doll_run(str(tmp_path / "t.yaml"), "--image", busybox_image)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.splitlines()) == 1 and "frobnicate: not supported by doll" in done.stderr, done.stderr


@pytest.mark.podman
def test_a_volume_podman_cannot_make_is_refused_in_one_line_before_the_pod_is_played(
        tmp_path: Path, busybox_image: str, pods: list[str]) -> None:
    pods.append("doll-e2e-projected-pod")  # removed should it ever start
    (tmp_path / "t.yaml").write_text(taskrun("doll-e2e-projected", """
        workspaces: [{name: token}]
        steps: [{name: a, image: i, command: ['true']}]
        """, "workspaces: [{name: token, projected: {sources: [{serviceAccountToken: {path: t}}]}}]"))
    (tmp_path / "images.yaml").write_text("{}")
    done = _doll_run(str(tmp_path / "t.yaml"), "--image", busybox_image, "--image-map", str(tmp_path / "images.yaml"))
    assert (done.returncode, done.stdout) == (2, "")
    # doll's 7 volumes, then step a's channel (doll-ch-s0), then the workspace
    assert done.stderr.startswith("doll run: the pod's spec.volumes[8].projected (volume 'doll-ws-token'): not "
                                  "supported by podman 4.3 kube play") and len(done.stderr.splitlines()) == 1


def test_doll_run_without_podman_says_how_to_install_it_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", "steps:\n  - {name: a, image: i, command: ['true']}"))
    done = _doll_run(str(tmp_path / "t.yaml"), env={**os.environ, "PATH": "/nonexistent"})
    assert done.returncode == 3
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("doll run: podman is not installed; install it with `sudo apt-get install podman")
