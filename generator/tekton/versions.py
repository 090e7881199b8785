"""`--kubernetes-version X.Y[.Z]`: the layout that works on that kubelet, and one warning per known kubelet bug.

    native   needs SidecarContainers: beta and on by default from 1.29 (KEP-753); on 1.28 it is alpha and off,
             and the steps would wait forever for a supervisor the kubelet runs as a plain init container
    classic  works on any version (plain containers), with the caveats the README lists
Known bug: kubernetes#132826 (a restartable init container's startupProbe is not re-run after that container
restarted, when another one also has a startupProbe): fixed in 1.35 (#133072), cherry-picked to 1.34 (#134800)
and 1.33 (#134801) in November 2025; 1.32 and older keep it.
"""

from __future__ import annotations

import re
from typing import Literal

from contracts.layout import SUPERVISOR_CONTAINER
from generator.errors import GenerateError, quote
from generator.tekton.specs import RawObject
from generator.warning import warn

__all__ = ["NATIVE_SINCE", "PROBE_FIXED", "choose_layout", "parse", "warn_known_bugs"]

NATIVE_SINCE = (1, 29)
PROBE_FIXED = (1, 35)
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse(text: str) -> tuple[int, int, int | None]:
    match = _VERSION.fullmatch(text)
    if not match:
        raise GenerateError(f"--kubernetes-version: {quote(text)} is not X.Y or X.Y.Z (e.g. 1.30)")
    major, minor, patch = match.groups()
    return int(major), int(minor), None if patch is None else int(patch)


def choose_layout(layout: str | None, version: str) -> Literal["native", "classic"]:
    """The layout asked for, else the one the version needs (classic below 1.29), else native."""
    if layout:
        if layout == "native" and version and parse(version)[:2] < NATIVE_SINCE:
            warn(f"--layout native on Kubernetes {version}: native sidecars need the SidecarContainers feature "
                 "gate, off by default before 1.29 (without it the steps wait forever); use --layout classic")
        return "native" if layout == "native" else "classic"
    if version and parse(version)[:2] < NATIVE_SINCE:
        return "classic"
    return "native"


def warn_known_bugs(version: str, pod: RawObject) -> None:
    """One line per known kubelet bug that applies to this Pod on that version."""
    if not version or not pod["spec"].get("initContainers"):
        return
    major, minor, _ = parse(version)
    probed = [c["name"] for c in pod["spec"]["initContainers"]
              if c.get("restartPolicy") == "Always" and c.get("startupProbe") and c["name"] != SUPERVISOR_CONTAINER]
    if probed and (major, minor) < PROBE_FIXED:
        fixed = "not fixed in this minor" if (major, minor) < (1, 33) else "fixed in late-2025 patch releases only"
        warn(f"Kubernetes {version}: sidecar {probed[0]} has a startupProbe and so does doll-supervisor; if one of "
             f"them restarts before it starts, kubelets before the fix of kubernetes#132826 ({fixed}; fixed in "
             "1.35) never probe it again and the steps never start")
