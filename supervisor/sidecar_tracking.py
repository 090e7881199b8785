"""Tracking the sidecars: their wrappers' connections, exec probes through them, exits, and stopping them.

`Sidecars` is owned by the Runner, which hands it three callables: `note` (journal and announce a record),
`cancel` (wind the run down) and `advance` (re-evaluate the run once a sidecar became ready).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from contracts.journal import JournalRecord
from contracts.wire import Finished, Hello, Message, Probe, ProbeResult, Stop
from contracts.plans import Plan
from supervisor.serving import Connection
from supervisor.states import RunState
from supervisor.timings import SIDECAR_LOST_GRACE
from supervisor.verdicts import VerdictSink

__all__ = ["SIDECAR_LOST_GRACE", "Sidecars"]


class Sidecars:
    def __init__(self, plan: Plan, state: RunState, note: Callable[..., JournalRecord],
                 cancel: Callable[[str, str], bool], advance: Callable[[], None], verdicts: VerdictSink,
                 lost_grace: float = SIDECAR_LOST_GRACE) -> None:
        self.state = state
        self._verdicts = verdicts
        self._lost_grace = lost_grace
        self._plans = {c.name: c for c in plan.sidecars}
        self._note, self._cancel, self._advance = note, cancel, advance
        self.conns: dict[str, Connection] = {}
        self.hello: dict[str, asyncio.Event] = {c.name: asyncio.Event() for c in plan.sidecars}
        self.changed = asyncio.Event()  # a sidecar stopped
        self._probes: dict[str, asyncio.Future[ProbeResult]] = {}

    def knows(self, name: str) -> bool:
        return name in self._plans

    def close(self) -> None:
        for fut in self._probes.values():
            if not fut.done():
                fut.set_result(ProbeResult(ok=False, output="the run is over"))

    # --- the wrappers' messages -------------------------------------------------------------------

    def on_message(self, conn: Connection, message: Message) -> None:
        name = conn.name
        if isinstance(message, Hello):
            self.conns[name] = conn
            car = self.state.sidecar(name)
            if car is not None and car.announced_at is None:
                self._note("sidecar_announced", sidecar=name)
            self.hello[name].set()
            if self.state.finished:
                self.stop(name)
        elif isinstance(message, ProbeResult):
            fut = self._probes.pop(name, None)
            if fut is not None and not fut.done():
                fut.set_result(message)
        elif isinstance(message, Finished):
            self._exited(name, f"exited with code {message.exit_code}")

    def on_closed(self, conn: Connection) -> None:
        if self.conns.get(conn.name) is not conn:
            return
        del self.conns[conn.name]
        fut = self._probes.pop(conn.name, None)
        if fut is not None and not fut.done():
            fut.set_result(ProbeResult(ok=False, output="sidecar wrapper disconnected"))
        asyncio.get_running_loop().call_later(self._lost_grace, self._lost, conn.name)

    def _lost(self, name: str) -> None:
        if name not in self.conns:
            self._exited(name, "its wrapper went away")

    def _exited(self, name: str, why: str) -> None:
        """A sidecar that ended, whatever its exit code, is stopped, not failed, as in Tekton: pkg/pod/status.go
        DidTaskRunFail looks at the steps only, and SidecarsReady counts a terminated sidecar as ready (one
        that does its setup and exits: docs/tasks.md "Specifying Sidecars").  One that never became ready
        while it ran still fails the task at its readiness deadline (readying.py)."""
        car = self.state.sidecar(name)
        if car is None or car.phase in ("stopped", "failed"):
            return
        over = self.state.finished or bool(self.state.cancel_reason)
        self._note("sidecar_stopped", sidecar=name, **({} if over else {"reason": why}))
        self.changed.set()
        if not over:
            self._advance()  # it may have been the last sidecar step 0 waited for

    def _stop(self, name: str) -> Stop:
        return Stop(reason="the run is over", grace_seconds=self._plans[name].stop_grace_seconds)

    def stop(self, name: str) -> None:
        conn = self.conns.get(name)
        if conn is not None:
            conn.send(self._stop(name))

    def stop_all(self) -> None:
        """The run is over: stop the sidecars that are connected, and leave the word for any that are not
        yet (or no longer): their wrappers read it if they find no supervisor."""
        for name in self._plans:
            self._verdicts.write("sidecar", name, self._stop(name))
        for name in list(self.conns):
            self.stop(name)
        self.changed.set()

    # --- readiness (called by the readiness tasks) ---------------------------------------------------

    def ready(self, name: str) -> None:
        car = self.state.sidecar(name)
        if car is not None and car.phase not in ("ready", "failed", "stopped"):
            self._note("sidecar_ready", sidecar=name)
            self._advance()

    def unready(self, name: str, why: str) -> None:
        car = self.state.sidecar(name)
        if car is not None and car.phase == "ready" and not self.state.finished:
            self._note("sidecar_unready", sidecar=name, reason=why)

    def failed(self, name: str, why: str) -> None:
        car = self.state.sidecar(name)
        if car is None or car.phase == "failed" or self.state.finished:
            return
        self._note("sidecar_failed", sidecar=name, reason=why)
        self._cancel("SidecarFailed", why)

    async def exec_probe(self, name: str, command: tuple[str, ...], timeout: float) -> ProbeResult:
        """Run an exec probe inside the sidecar's container, through its wrapper."""
        conn = self.conns.get(name)
        if conn is None:
            return ProbeResult(ok=False, output="sidecar wrapper not connected")
        fut: asyncio.Future[ProbeResult] = asyncio.get_running_loop().create_future()
        self._probes[name] = fut
        conn.send(Probe(command=command, timeout_seconds=timeout))
        try:
            return await asyncio.wait_for(fut, timeout + 1.0)
        except TimeoutError:
            return ProbeResult(ok=False, output=f"no probe result within {timeout}s")
        finally:
            if self._probes.get(name) is fut:
                del self._probes[name]

    def stopping(self) -> list[str]:
        """Sidecars told to stop (or about to be) that have not gone yet."""
        return [c.name for c in self.state.sidecars if c.phase not in ("stopped", "failed", "pending")]
