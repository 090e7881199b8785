"""The packaged wrapper (scripts/build-entrypoint) in images with no shell, no Python and no libc.

Run for real under podman as uid 65532 with a read-only root and no /tmp, the wrapper on a read-only
volume at /doll/bin: in an image holding only busybox-static, and in an empty image (the child there is
busybox-static itself, on another read-only volume).  podman always mounts /proc, so "no /proc" is shown
with a chroot holding nothing but the bundle and a static busybox.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from entrypoint_helpers import ROOT

from contracts import exits

pytestmark = pytest.mark.podman
BUSYBOX_IMAGE = "localhost/doll-test-busybox:latest"
SCRATCH_IMAGE = "localhost/doll-test-scratch:latest"
BUSYBOX = "/bin/busybox"


def _content_hash() -> str:
    h = hashlib.sha256()
    sources = [*(ROOT / "entrypoint").rglob("*.py"), *(ROOT / "contracts").rglob("*.py")]  # what the bundle holds
    for path in sorted([*sources, ROOT / "scripts" / "build-entrypoint"]):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The packaged wrapper for /doll/bin, built once per content hash under .cache/.  xdist workers take a
    lock to build it: two PyInstaller runs at once share its cache in ~/.cache and can break each other."""
    out = ROOT / ".cache" / "entrypoint-bundles" / _content_hash()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "entrypoint").exists():
            tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
            done = subprocess.run([str(ROOT / "scripts" / "build-entrypoint"), str(tmp)], capture_output=True,
                                  text=True, timeout=600)
            if done.returncode != 0:
                pytest.fail(f"scripts/build-entrypoint failed:\n{done.stderr[-3000:]}")
            shutil.rmtree(out, ignore_errors=True)
            tmp.rename(out)
    return out


@pytest.fixture(scope="session")
def images() -> None:
    subprocess.run([str(ROOT / "scripts" / "make-test-images")], check=True, capture_output=True, timeout=300)


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    d = tmp_path / "static"
    d.mkdir()
    shutil.copy(BUSYBOX, d / "busybox")
    return d


def podman_run(bundle: Path, image: str, *command: str, volumes: tuple[str, ...] = (),
               detach: bool = False) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    argv = ["podman", "run", "--rm", "--network", "none", "--user", "65532", "--read-only",
            "--read-only-tmpfs=false", "-v", f"{bundle}:/doll/bin:ro"]
    for v in volumes:
        argv += ["-v", v]
    argv += [image, "/doll/bin/entrypoint", *command]
    if detach:
        return subprocess.Popen(argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run(argv, text=True, capture_output=True, timeout=60)


def _env(stdout: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)


def test_the_bundle_is_small_and_holds_its_own_loader(bundle: Path) -> None:
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert size < 25 * 1024 * 1024
    interp = subprocess.run(["patchelf", "--print-interpreter", str(bundle / "entrypoint")],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert interp.startswith("/doll/bin/_internal/ld-linux")
    assert (bundle / "_internal" / os.path.basename(interp)).exists()


def test_packaged_wrapper_runs_busybox_in_the_busybox_image(bundle: Path, images: None) -> None:
    done = podman_run(bundle, BUSYBOX_IMAGE, "--name", "s", "--", "sh", "-c", "id -u; env; exit 7")
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 7, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "65532"
    env = _env(done.stdout)
    assert env["PATH"] == "/bin"
    assert not [k for k in env if k.startswith(("LD_", "_PYI", "_MEIPASS", "PYTHON"))]


def test_packaged_wrapper_runs_a_static_program_in_the_empty_image(bundle: Path, images: None,
                                                                      static_dir: Path) -> None:
    done = podman_run(bundle, SCRATCH_IMAGE, "--name", "s", "--", "/static/busybox", "sh", "-c",
                      "/static/busybox env; exit 3", volumes=(f"{static_dir}:/static:ro",))
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == 3, done.stderr
    assert not [k for k in _env(done.stdout) if k.startswith(("LD_", "_PYI", "_MEIPASS"))]


def test_packaged_wrapper_reports_a_missing_command_in_the_empty_image(bundle: Path, images: None,
                                                                        tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir(mode=0o777)
    steps.chmod(0o777)
    done = podman_run(bundle, SCRATCH_IMAGE, "--name", "s", "--post-file", "/steps/out", "--step-dir", "/steps",
                      "--", "/bin/sh", "-c", "true", volumes=(f"{steps}:/steps",))
    assert isinstance(done, subprocess.CompletedProcess)
    assert done.returncode == exits.EXIT_NOT_FOUND
    assert done.stderr.strip().endswith("command '/bin/sh': not found")
    assert json.loads((steps / "out.err").read_text())["exit_code"] == exits.EXIT_NOT_FOUND


def test_packaged_wrappers_in_two_containers_follow_the_file_chain(bundle: Path, images: None,
                                                                    tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    steps.chmod(0o777)
    vol = (f"{steps}:/tekton/steps",)
    second = podman_run(bundle, BUSYBOX_IMAGE, "--name", "b", "--wait-file", "/tekton/steps/a/out",
                        "--post-file", "/tekton/steps/b/out", "--", "sh", "-c", "echo b >> /tekton/steps/log",
                        volumes=vol, detach=True)
    assert isinstance(second, subprocess.Popen)
    try:
        time.sleep(1.0)
        first = podman_run(bundle, BUSYBOX_IMAGE, "--name", "a", "--post-file", "/tekton/steps/a/out", "--",
                           "sh", "-c", "echo a >> /tekton/steps/log", volumes=vol)
        assert isinstance(first, subprocess.CompletedProcess) and first.returncode == 0, first.stderr
        second.wait(60)
    finally:
        if second.poll() is None:
            second.kill()
        second.communicate()
    assert second.returncode == 0
    assert (steps / "log").read_text().split() == ["a", "b"]


@pytest.fixture
def chroot(bundle: Path, tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "root"
    shutil.copytree(bundle, root / "doll" / "bin", symlinks=True)
    (root / "bin").mkdir()
    shutil.copy(BUSYBOX, root / "bin" / "busybox")
    os.symlink("busybox", root / "bin" / "sh")
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o555 if p.is_dir() or os.access(p, os.X_OK) else 0o444)
    yield root
    for p in [root, *root.rglob("*")]:
        if not p.is_symlink():
            p.chmod(0o755)


def test_packaged_wrapper_runs_with_no_proc_no_tmp_and_nothing_writable(chroot: Path) -> None:
    """chroot (as root, then uid 65532) into a tree holding only the bundle and a static busybox."""
    done = subprocess.run(["chroot", "--userspec=65532:65532", str(chroot), "/doll/bin/entrypoint",
                           "--name", "s", "--", "/bin/sh", "-c", "ls /; test -e /proc || exit 9"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 9, done.stderr
    assert done.stdout.split() == ["bin", "doll"]
