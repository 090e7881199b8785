"""Sidecar mode: run the sidecar's own command at once, answer exec probes, stop it on the supervisor's word.

The wrapper says hello with kind "sidecar" and starts the command without waiting.  A `probe` runs the
probe command inside this container (in a thread, so signals and `stop` are never delayed) and answers
`probe_result`.  On `stop` the sidecar gets SIGTERM, the grace period, then SIGKILL of its whole group,
and the wrapper exits 0 so the Pod can complete.  Without a supervisor the sidecar just runs, unless
the supervisor left it its last word (`verdict` in its own channel, written when a classic run is over): a
sidecar whose container starts after that does not start its command, and one that lost the supervisor
is stopped when the word appears (it looks each time it tries to reconnect, every second).
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time

from entrypoint import connecting, environments
from contracts import wire
from contracts.options import StepOptions
from entrypoint.processes import spawn
from entrypoint.running import ChildRunner
from entrypoint.teeing import Tee
from entrypoint.session import Session, log
from entrypoint.waiting import read_verdict, verdict_path

__all__ = ["probe", "Sidecar", "main"]

_PROBE_OUTPUT_BYTES = 1024


def probe(command: tuple[str, ...], timeout: float) -> wire.ProbeResult:
    """Run an exec probe: success is exit code 0 within the timeout (Kubernetes' rule).  Its stdout and
    stderr (the last kilobyte) are the result's output; on timeout its whole process group is killed."""
    deadline = time.monotonic() + timeout
    r, w = os.pipe()
    try:
        with open(os.devnull, "rb") as null:
            pid = spawn(command, environments.clean(), stdin=null.fileno(), stdout=w, stderr=w)
    except OSError as exc:
        os.close(r)
        return wire.ProbeResult(ok=False, output=f"probe {command[0]!r}: {exc.strerror}")
    finally:
        os.close(w)
    try:
        output = _read_until(r, deadline)
    finally:
        os.close(r)
    status = _wait_until(pid, deadline)
    if output is None or status is None:
        try:
            os.killpg(pid, signal.SIGKILL)  # the probe and whatever it started
        except ProcessLookupError:
            pass
        if status is None:
            os.waitpid(pid, 0)
        return wire.ProbeResult(ok=False, output=f"probe timed out after {timeout:g}s")
    return wire.ProbeResult(ok=os.waitstatus_to_exitcode(status) == 0,
                                output=output.decode("utf-8", errors="replace"))


def _read_until(fd: int, deadline: float) -> bytes | None:
    """The end of what `fd` gives until EOF; None if it is still open at `deadline`."""
    kept = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        data = os.read(fd, 65536)
        if not data:
            return kept
        kept = (kept + data)[-_PROBE_OUTPUT_BYTES:]


def _wait_until(pid: int, deadline: float) -> int | None:
    """`pid`'s wait status, or None if it is still running at `deadline` (polled, as subprocess waits)."""
    delay = 0.0005
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.05)


class Sidecar:
    def __init__(self, options: StepOptions) -> None:
        self.o = options
        self.session = Session(options.socket, "sidecar", options.name, options.index, options.socket_wait_seconds,
                               options.reconnect_seconds)
        self.lock = threading.Lock()  # the probe threads send on the channel a reconnect may replace
        self.threads: list[threading.Thread] = []

    def on_message(self, message: wire.Message) -> None:
        if isinstance(message, wire.Probe):
            thread = threading.Thread(target=self._probe, args=(message,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _probe(self, message: wire.Probe) -> None:
        result = probe(message.command, message.timeout_seconds)
        with self.lock:
            channel = self.session.channel
            if channel is not None:
                channel.send(result)

    def reconnect(self) -> connecting.Channel | wire.Stop | None:
        """The supervisor went away (or was never there): try once, without waiting; announce again.  Where
        it is gone for good, its `stop` in the verdict file."""
        with self.lock:
            channel = self.session.reconnect(0.0)
        if channel is None:
            return self.last_word()
        log(f"sidecar {self.o.name}: reconnected to the supervisor")
        return channel

    def last_word(self) -> wire.Stop | None:
        word = read_verdict(verdict_path(self.o))
        return word if isinstance(word, wire.Stop) else None

    def run(self) -> int:
        if self.o.socket:
            try:
                self.session.open()
            except connecting.SocketPathError as exc:
                log(f"sidecar {self.o.name}: {exc}; running without a supervisor")
            if self.session.channel is None and self.last_word() is not None:
                log(f"sidecar {self.o.name}: the run is over (the supervisor's verdict); not starting")
                return 0
            if self.session.channel is None:
                log(f"sidecar {self.o.name}: no supervisor at {self.o.socket}; running without one")
        runner = ChildRunner(self.o.timeout_seconds, self.o.grace_seconds,
                             Tee(self.o.stdout_path, self.o.stderr_path), on_message=self.on_message,
                             reconnect=self.reconnect if self.o.socket else None)
        outcome = runner.run(self.o.command, environments.clean(), self.session.channel)
        for thread in self.threads:
            thread.join(timeout=5.0)
        with self.lock:
            channel = self.session.live()
            if channel is not None and not outcome.stopped:  # it ended by itself: say so, it is no failure
                channel.send(wire.Finished(name=self.o.name, exit_code=outcome.exit_code, reason=outcome.reason,
                                           started_at=outcome.started_at, finished_at=outcome.finished_at,
                                           message=outcome.message))
            self.session.close()
        if outcome.exit_code != 0 and outcome.message:
            log(f"sidecar {self.o.name}: {outcome.message}")
        return 0 if outcome.stopped else outcome.exit_code


def main(options: StepOptions) -> int:
    return Sidecar(options).run()
