"""How long the supervisor waits for things: one `Timings`, production values by default.

Passed down from `supervise()` (as client_python's collectors take their registry): a test gives short
values instead of waiting out the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HANDOFF_QUIET_SECONDS", "LOST_AFTER_RESTART_SECONDS", "LOST_SECONDS", "SIDECAR_LOST_GRACE",
           "STALL_POLL_SECONDS", "STEP_STOP_GRACE", "Timings"]

STEP_STOP_GRACE = 30.0
# A released or running step whose wrapper hung up and did not come back (a wrapper only hangs up by dying:
# its container was OOM-killed, evicted, deleted) fails after this long, unless its post file says how it
# ended; without this the run would wait for the task timeout.  After a supervisor restart the running
# steps' wrappers get longer to reconnect (they retry every second).
LOST_SECONDS = 5.0
LOST_AFTER_RESTART_SECONDS = 15.0
HANDOFF_QUIET_SECONDS = 0.005  # after a hand-off's `start`: the ack and announcements wait this long
SIDECAR_LOST_GRACE = 1.0  # a sidecar wrapper gone this long without saying hello again has exited
# While a released step's wrapper was never heard, the Pod's status is read this often (stalls.py): a
# container that ended before its hello fails the step within about this long, at one GET per period.
STALL_POLL_SECONDS = 2.0


@dataclass(frozen=True)
class Timings:
    step_stop_grace: float = STEP_STOP_GRACE
    lost_seconds: float = LOST_SECONDS
    lost_after_restart_seconds: float = LOST_AFTER_RESTART_SECONDS
    handoff_quiet_seconds: float = HANDOFF_QUIET_SECONDS
    sidecar_lost_grace: float = SIDECAR_LOST_GRACE
    stall_poll_seconds: float = STALL_POLL_SECONDS
