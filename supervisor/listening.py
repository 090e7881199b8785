"""The supervisor's listeners: its admin socket and one channel per step and sidecar, behind one `Gate`.

    <run_dir>/control.sock                        admin: the supervisor's container only; doll ctl, anything
    <channels_dir>/step-<name>/control.sock       step <name>'s own channel (its container: /doll/channel)
    <channels_dir>/sidecar-<name>/control.sock    sidecar <name>'s own channel

Without `plan.channels_dir` (one host, tests and benchmarks) the admin socket is the only one, and every
wrapper uses it.  The listeners share one `Drops` (counted for the metrics, logged without flooding) and one
`Limits` (all their connections together stay below the open-file limit).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

from contracts import layout
from contracts.plans import Plan
from supervisor.drops import ADMIN_LIMIT, CHANNEL_LIMIT, Drops, Limits, raise_file_limit
from supervisor.gate import Gate, Gated
from supervisor.logs import Log
from supervisor.serving import ACCEPT_TROUBLE, ControlServer, HELLO_TIMEOUT

__all__ = ["Listeners", "channel_socket", "listen"]


def channel_socket(channels_dir: str, kind: str, name: str) -> str:
    return f"{layout.channel_dir(channels_dir, kind, name)}/{layout.SOCKET_NAME}"


@dataclass
class Listeners:
    admin: ControlServer
    drops: Drops
    channels: list[ControlServer] = field(default_factory=list)
    _accept_failing: bool = False

    def on_loop_error(self, context: dict[str, Any], log: Log) -> bool:
        """True when the loop's error is a listener's failed accept (out of descriptors): asyncio backs off a
        second and tries again; it is logged once, with no traceback, and counted."""
        if context.get("message") != ACCEPT_TROUBLE:
            return False
        self.drops.counts["accept-failed"] = self.drops.counts.get("accept-failed", 0) + 1
        if not self._accept_failing:
            self._accept_failing = True
            log.warning("accept_failing", error=str(context.get("exception")), retry_seconds=1.0)
        return True


async def listen(plan: Plan, runner: Gated, log: Log, stack: contextlib.AsyncExitStack,
                 hello_timeout: float = HELLO_TIMEOUT) -> Listeners:
    """Listen on the admin socket and on every channel; each is closed by `stack`."""
    drops = Drops(log)
    limits = Limits(raise_file_limit())
    gate = Gate(runner, drops)
    owners = [("step", s.name) for s in plan.steps] + [("sidecar", c.name) for c in plan.sidecars]
    shared = 0 if plan.channels_dir else len(owners) * CHANNEL_LIMIT  # no channels: every wrapper comes here
    admin = ControlServer(os.path.join(plan.run_dir, layout.SOCKET_NAME), gate, log, hello_timeout,
                          drops=drops, limits=limits, per_listener=ADMIN_LIMIT + shared)
    listeners = Listeners(admin, drops)
    for kind, name in owners if plan.channels_dir else []:
        path = channel_socket(plan.channels_dir, kind, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)  # a mount point in a Pod; made here on one host
        server = ControlServer(path, gate, log, hello_timeout, owner=(kind, name), drops=drops, limits=limits,
                               per_listener=CHANNEL_LIMIT)
        await server.start()
        stack.push_async_callback(server.close)
        listeners.channels.append(server)
    await admin.start()  # last: the native layout's startupProbe asks it, so the steps start once all listen
    stack.push_async_callback(admin.close)
    return listeners
