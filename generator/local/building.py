"""The doll image `doll run` plays: built from this checkout when its sources changed, else required as given.

Also what to say when `podman kube play` fails for a reason of this host (crun, cgroups, rlimits).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from generator.local import podman

__all__ = ["BUILD_SCRIPT", "CONTAINERS_CONF", "DEFAULT_IMAGE", "ensuring_image", "host_problem", "play_hint"]

DEFAULT_IMAGE = "localhost/doll:dev"
BUILD_SCRIPT = Path(__file__).resolve().parent.parent.parent / "scripts" / "build-image"
CONTAINERS_CONF = BUILD_SCRIPT.parent / "containers.conf"


def host_problem(error: str) -> bool:
    """Whether a failed `kube play` looks like this host's runtime setup (crun and the cgroups, rlimits), not
    the pod (a missing secret, a bad volume), and the hint's containers.conf is not in use already."""
    if os.environ.get("CONTAINERS_CONF", "") == str(CONTAINERS_CONF):
        return False
    return any(sign in error for sign in ("internal libpod error", "rlimit", "cgroup", "OCI runtime", "crun"))


def play_hint() -> str:
    """What to check when `kube play` fails for a reason of the host, not of the pod."""
    now = os.environ.get("CONTAINERS_CONF", "")
    return ("hint: where crun refuses the host's cgroups or raising rlimits is not permitted, podman needs "
            f"runtime \"runc\", cgroup_manager \"cgroupfs\" and default_ulimits as in {CONTAINERS_CONF}: "
            f"export CONTAINERS_CONF={CONTAINERS_CONF} (README, doll run; "
            + (f"CONTAINERS_CONF is {now} now)" if now else "CONTAINERS_CONF is not set now)"))


def ensuring_image(image: str, build: bool, out: Any) -> None:
    """Build the default image from this checkout when it can (cached by content hash), else require it;
    a build (about a minute) is announced on `out` before it starts."""
    if build and BUILD_SCRIPT.exists():
        proc = subprocess.Popen(["bash", str(BUILD_SCRIPT), image], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, errors="replace")
        last = "(no output)"
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith("build-image: building "):  # "build-image: building TAG (HASH): WHY"
                    why = line.strip().rsplit("): ", 1)[-1]
                    out.write(f"doll: building the doll image {image} ({why}); about a minute\n")
                    out.flush()
                elif line.startswith("make-base-image: ") and "debootstrap" in line and "building" in line:
                    out.write("doll: making the image's base with debootstrap first; a few minutes\n")
                    out.flush()
                if line.strip():
                    last = line.strip()
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise podman.PodmanError(f"building {image} failed: {last}")
    if not podman.image_exists(image):
        raise podman.PodmanError(f"image {image} is not in podman's store; build it with scripts/build-image "
                                 "or pass --image")
