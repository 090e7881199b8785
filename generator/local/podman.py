"""The podman command line, as `doll run` uses it: argument lists only, never a shell.

Each call returns parsed data or raises PodmanError with one line (podman's own last error line).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from contracts.errors import DollError
from contracts.exits import EXIT_ENVIRONMENT

__all__ = ["ContainerState", "INSTALL_HINT", "PodmanError", "checking_podman", "image_exists", "inspecting",
           "logs", "playing", "pod_containers", "pod_exists", "podman", "removing_pod", "removing_volumes",
           "volume_names"]

INSTALL_HINT = ("install it with `sudo apt-get install podman runc` (Debian/Ubuntu) or see "
                "https://podman.io/docs/installation; on hosts whose cgroups crun refuses, point "
                "CONTAINERS_CONF at doll's scripts/containers.conf")
_NOISE = ("failed to connect to syslog",)  # printed by podman 4.3 on hosts with no syslog; harmless


class PodmanError(DollError):
    """A podman command failed; the text is one line.  `doll run` exits 3."""

    exit_code = EXIT_ENVIRONMENT


@dataclass(frozen=True)
class ContainerState:
    name: str
    status: str  # created | running | exited | ...
    exit_code: int
    started_at: str
    finished_at: str
    log_path: str


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith(_NOISE)]
    return lines[-1] if lines else "(no message)"


def podman(*args: str, timeout: float = 120.0, input_text: str | None = None, own_group: bool = False) -> str:
    """Run `podman ARGS`, return its stdout; raise PodmanError with its last error line.  `own_group`: in a
    process group of its own, out of reach of the terminal's Ctrl-C."""
    try:
        done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout,
                              input=input_text, check=False, process_group=0 if own_group else None)
    except FileNotFoundError:
        raise PodmanError(f"podman is not installed; {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise PodmanError(f"`podman {args[0]}` did not answer within {timeout:.0f} s") from None
    if done.returncode != 0:
        raise PodmanError(f"podman {args[0]}: {_last_line(done.stderr)}")
    return done.stdout


def checking_podman() -> str:
    """'' when podman can run containers here, else one line saying what is wrong and how to fix it."""
    if shutil.which("podman") is None:
        return f"podman is not installed; {INSTALL_HINT}"
    try:
        podman("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=60)
    except PodmanError as exc:
        return f"podman is not usable here ({exc}); {INSTALL_HINT}"
    return ""


def image_exists(image: str) -> bool:
    return _exists("image", image)


def pod_exists(pod: str) -> bool:
    return _exists("pod", pod)


def _exists(kind: str, name: str) -> bool:
    """`podman image exists` / `podman pod exists`: exit 0 or not."""
    try:
        podman(kind, "exists", name)
    except PodmanError:
        return False
    return True


def playing(yaml_text: str) -> None:
    """`podman kube play -` : create the pod, run its init containers to the end, start the rest."""
    podman("kube", "play", "--quiet", "-", input_text=yaml_text, timeout=600)


def pod_containers(pod: str) -> dict[str, str]:
    """Container name (without the pod prefix) -> state, infra container left out; {} once the pod is gone."""
    try:
        data = json.loads(podman("pod", "inspect", pod))
    except PodmanError:
        return {}
    prefix = pod + "-"
    return {c["Name"][len(prefix):]: c["State"] for c in data.get("Containers", [])
            if c["Name"].startswith(prefix)}


def inspecting(names: list[str]) -> list[ContainerState]:
    """Full state of the named containers (podman names: <pod>-<container>)."""
    if not names:
        return []
    data: list[dict[str, Any]] = json.loads(podman("container", "inspect", *names))
    return [ContainerState(
        name=c["Name"], status=c["State"]["Status"], exit_code=int(c["State"]["ExitCode"]),
        started_at=c["State"]["StartedAt"], finished_at=c["State"]["FinishedAt"],
        log_path=(c.get("HostConfig", {}).get("LogConfig") or {}).get("Path", ""),
    ) for c in data]


def logs(name: str) -> str:
    """Everything a container wrote (stdout and stderr)."""
    done = subprocess.run(["podman", "logs", name], capture_output=True, text=True, check=False, timeout=60)
    return done.stdout + done.stderr


def removing_pod(pod: str) -> None:
    """Stop and remove the pod and its containers now (no grace: the run is over or abandoned), whatever
    Ctrl-C the terminal sends meanwhile."""
    podman("pod", "rm", "--force", "--ignore", "--time", "0", pod, timeout=120, own_group=True)


def volume_names() -> set[str]:
    """The names of podman's named volumes."""
    return set(podman("volume", "ls", "--format", "{{.Name}}").split())


def removing_volumes(names: list[str]) -> None:
    """Remove these named volumes (once no container uses them)."""
    if names:
        podman("volume", "rm", "--force", *names, timeout=120, own_group=True)
