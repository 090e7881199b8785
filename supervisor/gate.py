"""What a peer may say, by the socket it came on: the Runner hears only what passes the gate.

A step's or sidecar's channel (a listener with an `owner`) is mounted in that container only, so whoever
connects there speaks for that container and nobody else:

- a hello there must be the owner's own kind and name (a `ctl` hello or request is allowed, scoped below);
- a second hello for a step or sidecar whose connection is still open is refused, wherever it comes from (a
  wrapper reconnects only once its own connection died; should its new hello beat the old connection's end,
  it is refused and the wrapper tries again within its reconnect_seconds);
- `started` and `finished` must name the connection's own step; `started` counts only for a released step;
  `finished` for a step never released counts only as a failure (the wrapper's own usage-error report), its
  results dropped, never as success;
- `ctl` from a step's channel may ask the status (its own step only) and continue or fail its own hold;
  cancel and other steps' holds are refused; from a sidecar's channel, the status of the run only.

The admin socket (`owner` None, in the supervisor's container only) may do everything, as before.
"""

from __future__ import annotations

from typing import Any, Protocol

from contracts.wire import Ctl, Finished, Hello, Message, Reply, Started
from supervisor.control_requests import answer
from supervisor.drops import Drops
from supervisor.serving import Connection
from supervisor.sidecar_tracking import Sidecars
from supervisor.states import RunState

__all__ = ["Gate", "Gated", "scoped_answer", "scoped_status"]

NOT_RELEASED = "reported finished before it was released"


class Gated(Protocol):
    """What the gate guards (the Runner)."""

    state: RunState
    steps: dict[str, Connection]
    sidecars: Sidecars

    def knows(self, hello: Hello) -> bool: ...
    def on_message(self, conn: Connection, message: Message) -> None: ...
    def on_closed(self, conn: Connection) -> None: ...
    def control(self, ctl: Ctl) -> Reply: ...
    def cancel(self, reason: str, message: str = "") -> bool: ...
    def end_hold(self, name: str, decision: str, advance: bool = True) -> None: ...


class Gate:
    def __init__(self, runner: Gated, drops: Drops) -> None:
        self.runner = runner
        self.drops = drops

    def admit(self, conn: Connection, hello: Hello) -> tuple[str, str] | None:
        if hello.kind == "ctl":
            return None
        if conn.owner is not None and (hello.kind, hello.name) != conn.owner:
            return "impostor", f"a hello as {hello.kind} {hello.name!r} on the channel of {' '.join(conn.owner)}"
        if not self.runner.knows(hello):
            return "unknown", f"{hello.kind} {hello.name!r} is not in the plan"
        conns = self.runner.steps if hello.kind == "step" else self.runner.sidecars.conns
        live = conns.get(hello.name)
        if live is not None and live is not conn and not live.closed:
            return "duplicate", f"{hello.kind} {hello.name!r} is connected already (connection {live.id})"
        return None

    def on_closed(self, conn: Connection) -> None:
        self.runner.on_closed(conn)

    def on_message(self, conn: Connection, message: Message) -> None:
        if isinstance(message, Ctl):
            conn.send(self.runner.control(message) if conn.owner is None else
                      scoped_answer(self.runner, conn.owner, message))
            return
        if conn.kind == "ctl":
            return  # a ctl peer only asks
        if isinstance(message, Hello) and (message.kind, message.name) != (conn.kind, conn.name):
            self._drop(conn, "impostor", f"a hello as {message.kind} {message.name!r} after one as {conn.name!r}")
            return
        if conn.kind == "step":
            passed = self._step_message(conn, message)
            if passed is None:
                return
            message = passed
        self.runner.on_message(conn, message)

    def _step_message(self, conn: Connection, message: Message) -> Message | None:
        """The step's message as the Runner may hear it, or None (dropped)."""
        if isinstance(message, (Started, Finished)) and message.name != conn.name:
            self._drop(conn, "impostor", f"{message.op} for {message.name!r} on {conn.name!r}'s connection")
            return None
        step = self.runner.state.step(conn.name)
        if step is None or step.phase != "pending":
            return message
        if isinstance(message, Started):
            self._drop(conn, "out-of-turn", f"started for {conn.name!r}, which was not released")
            return None
        if isinstance(message, Finished):
            code = message.exit_code if message.exit_code != 0 else 1
            reason = message.reason if message.reason not in ("Completed", "Skipped") else "Error"
            why = f"{NOT_RELEASED}: {message.message}" if message.message else NOT_RELEASED
            return Finished(name=message.name, exit_code=code, reason=reason, started_at=None,
                            finished_at=message.finished_at, results={}, message=why)
        return message

    def _drop(self, conn: Connection, why: str, detail: str) -> None:
        self.drops.drop(why, detail, conn=conn.id, peer=conn.name)


def scoped_answer(run: Gated, owner: tuple[str, str], ctl: Ctl) -> Reply:
    """A `ctl` request from `owner`'s own channel: its own status and its own hold, nothing else."""
    kind, name = owner
    action = "fail" if ctl.action == "fail-continue" else ctl.action
    if action == "status":
        return Reply(ok=True, status=scoped_status(run.state.to_status(), owner))
    if action in ("continue", "fail") and kind == "step":
        if ctl.step and ctl.step != name:
            return Reply(ok=False, message=f"{action}: step {name!r} may decide only its own hold, not "
                                           f"{ctl.step!r}'s (ask through the supervisor's admin socket)")
        return answer(run, Ctl(action=action, step=name))
    if action == "terminating" and kind == "step":
        return _terminating(run, name)
    return Reply(ok=False, message=f"{ctl.action}: not allowed from {kind} {name!r}'s channel (ask through the "
                                   "supervisor's admin socket: doll ctl in the doll-supervisor container)")


def _terminating(run: Gated, name: str) -> Reply:
    """A step's container got SIGTERM from outside while the run was not winding down (nobody told it to
    stop): the kubelet deleting the Pod signals the steps before the supervisor (native layout), and the
    step's exit 143 must not make the run Failed.  The run is cancelled."""
    step = run.state.step(name)
    if step is None or step.stopping:
        return Reply(ok=False, message="the run is already stopping this step")
    done = run.cancel("Cancelled", f"the Pod is being deleted (step {name!r}'s container got SIGTERM)")
    return Reply(ok=done, message="cancelled" if done else "the run is already over or cancelled")


def scoped_status(status: dict[str, Any], owner: tuple[str, str]) -> dict[str, Any]:
    """The run's status as `owner` may see it: the run, and its own step or sidecar only."""
    kind, name = owner
    own = [s for s in status.get(f"{kind}s", []) if s.get("name") == name]
    hold = status.get("hold")
    return {**status, "steps": own if kind == "step" else [], "sidecars": own if kind == "sidecar" else [],
            "hold": hold if hold and kind == "step" and hold.get("step") == name else None,
            "holds": [h for h in status.get("holds", []) if kind == "step" and h.get("step") == name]}
