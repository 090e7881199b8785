"""A full steps volume: a wrapper that cannot record its step's end does not let the run count it a success."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import exits
from supervisor_rig import Pod


@contextlib.contextmanager
def _full_tmpfs(path: Path) -> Iterator[None]:
    """A 12 KiB tmpfs at `path`, filled up: creating a file works, writing a byte to it does not."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12k", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        with open(path / "filler", "wb") as f, contextlib.suppress(OSError):
            f.write(b"x" * (64 << 10))
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_step_whose_exit_code_cannot_be_written_is_reported_failed_and_the_run_fails(pod: Pod) -> None:
    """Tekton pkg/entrypoint (realPostWriter.Write): a post file or exitCode that cannot be written ends the
    entrypoint with log.Fatalf (exit 1), so the step fails (pkg/pod/status.go DidTaskRunFail).  doll's wrapper
    writes the exitCode before it reports; when that fails the report says so (exit 125, Error)."""
    pod.plan(["a", "b"])
    with _full_tmpfs(pod.steps_dir / "step-a"):
        pod.supervise()
        a, b = pod.steps({"a": "true", "b": "true"})
        assert pod.finish(timeout=30) == 1
        done = {r["step"]: r for r in pod.journal() if r["ev"] == "finished"}
        assert done["a"]["outcome"] == "failed" and done["a"]["exit_code"] == exits.EXIT_WRAPPER_ERROR
        assert "No space left" in done["a"]["message"]
        assert a.returncode == exits.EXIT_WRAPPER_ERROR and b.returncode == exits.EXIT_SKIPPED
        assert pod.order() == ["a"] and pod.outcome() == "Failed"
        assert not [n for n in os.listdir(pod.steps_dir / "step-a") if n.endswith(".tmp")]
