"""What `doll run` played, removed afterwards: the pod with its containers and the run directory, whatever
signals come meanwhile, saying exactly how to remove what could not be."""

from __future__ import annotations

import shutil
import sys
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
            try:
                podman.removing_pod(pod)
            except (podman.PodmanError, OSError) as exc:
                print(f"doll run: removing pod {pod} failed: {exc}", file=sys.stderr)
                left.append(f"podman pod rm --force --time 0 {pod}")
        if volumes:
            try:
                podman.removing_volumes(volumes)
            except (podman.PodmanError, OSError) as exc:
                print(f"doll run: removing volumes {' '.join(volumes)} failed: {exc}", file=sys.stderr)
                left.append(f"podman volume rm {' '.join(volumes)}")
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
            if run_dir.exists():
                left.append(f"rm -rf {run_dir}")
        if left:
            print("doll run: remove what is left with:", file=sys.stderr)
            for command in left:
                print(f"doll run:   {command}", file=sys.stderr)

