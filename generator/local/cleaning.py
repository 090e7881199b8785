"""What `doll run` played, removed afterwards: the pod with its containers and the run directory, whatever
signals come meanwhile, saying exactly how to remove what could not be."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from generator.local import podman
from generator.local.interrupting import deferring

__all__ = ["removing"]


def removing(pod: str, run_dir: Path | None, volumes: list[str] | None = None) -> None:
    """Remove the pod (with its containers), the named `volumes` kube play made for it and the run directory,
    whatever signals come meanwhile; say exactly how to remove what could not be."""
    with deferring():
        left: list[str] = []
        if pod:
            _attempt(lambda: podman.removing_pod(pod), f"removing pod {pod}",
                     f"podman pod rm --force --time 0 {pod}", left)
        if volumes:
            _attempt(lambda: podman.removing_volumes(volumes), f"removing volumes {' '.join(volumes)}",
                     f"podman volume rm {' '.join(volumes)}", left)
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
            if run_dir.exists():
                left.append(f"rm -rf {run_dir}")
        if left:
            print("doll run: remove what is left with:", file=sys.stderr)
            for command in left:
                print(f"doll run:   {command}", file=sys.stderr)


def _attempt(remove: Callable[[], None], what: str, by_hand: str, left: list[str]) -> None:
    """One removal; when it fails, say so and keep the command that removes it by hand."""
    try:
        remove()
    except (podman.PodmanError, OSError) as exc:
        print(f"doll run: {what} failed: {exc}", file=sys.stderr)
        left.append(by_hand)
