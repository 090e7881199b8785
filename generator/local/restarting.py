"""The supervisor restarted when it dies before the run ended, as a kubelet restarts it in the native layout.

In the native layout the supervisor is an init container with `restartPolicy: Always`: when it dies the
kubelet starts it again, at once the first time, then after a back-off of 10 s, 20 s, 40 s ... capped at
300 s (the kubelet's crash-loop back-off), for as long as the Pod's steps run.  Under `doll run` the
classic layout is played (podman 4.3 waits on such an init container forever), where the supervisor is a
plain container of a `restartPolicy: Never` pod, so `doll run` does the kubelet's part: `podman start` of
the exited supervisor container while some step container has not exited and the run has no outcome.  A
restarted supervisor replays its journal and reconciles from the post files, so metrics and status carry on.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.layout import SUPERVISOR_CONTAINER
from generator.local import podman
from generator.local.progress import Display

__all__ = ["BACKOFF_CAP_SECONDS", "BACKOFF_SECONDS", "SupervisorRestarts", "backoff"]

BACKOFF_SECONDS = 10.0  # the kubelet's first back-off
BACKOFF_CAP_SECONDS = 300.0  # and its cap
_EXITED = ("exited", "stopped", "dead")


def backoff(restarts: int) -> float:
    """Seconds to wait before restart number `restarts` + 1: 0, 10, 20, 40 ... 300."""
    return 0.0 if restarts == 0 else min(BACKOFF_SECONDS * 2 ** (restarts - 1), BACKOFF_CAP_SECONDS)


@dataclass
class SupervisorRestarts:
    pod: str
    display: Display
    count: int = 0
    due: float | None = None  # monotonic time of the next restart, once the supervisor is seen exited

    def checking(self, states: dict[str, str], decided: bool, now: float) -> None:
        """Given the pod's container states: restart the supervisor if it is due."""
        steps_left = any(state not in _EXITED for name, state in states.items() if name.startswith("step-"))
        if decided or states.get(SUPERVISOR_CONTAINER) not in _EXITED or not steps_left:
            self.due = None
            return
        container = f"{self.pod}-{SUPERVISOR_CONTAINER}"
        if self.due is None:
            delay = backoff(self.count)
            self.due = now + delay
            try:
                how = f"exit {podman.inspecting([container])[0].exit_code}"
            except (podman.PodmanError, IndexError):
                how = "gone"
            self.display.note(f"the supervisor died ({how}) before the run ended; restarting it "
                              f"{'now' if not delay else f'in {delay:g} s'}, as a kubelet would "
                              f"(restart {self.count + 1})")
        if now >= self.due:
            self.due = None
            self.count += 1
            try:
                podman.podman("start", container)
            except podman.PodmanError as exc:
                self.display.note(f"restarting the supervisor failed: {exc}")
