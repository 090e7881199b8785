"""One step, start to end: wait for the turn, run the child, report to the supervisor, record, exit code.

Socket first (waiting a bounded time for it), the file chain when the supervisor is missing or gone.
Whatever the mode, the step's records (exitCode, termination message, post file) are always written.
"""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

from entrypoint import connecting, environments, results
from contracts import exits, layout, wire
from contracts.options import StepOptions
from contracts.outcome import Judgement, judge
from contracts.records import StepRecord
from entrypoint.recording import FileRecorder, PostWriter
from entrypoint.running import ChildRunner, Outcome, Runner
from entrypoint.teeing import Tee
from entrypoint.session import Session, Verdict, log
from entrypoint.waiting import FileWaiter

__all__ = ["CANCELLING", "Terminated", "command_for", "Step", "main"]

# what ends a step's wait before its child runs (and a hold or an ack wait after it ran)
CANCELLING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
REJOIN_SECONDS = 1.0  # on the file chain: how often a supervisor that came back is looked for
_MACHINES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


class Terminated(Exception):
    """A terminating signal arrived before the child started."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by signal {signum} before the step ran")
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _platform() -> str:
    return "linux/" + _MACHINES.get(os.uname().machine, os.uname().machine)


def command_for(options: StepOptions) -> tuple[str, ...]:
    """The command for this machine's platform (a multi-arch image's own entrypoint), else the given one."""
    chosen = options.platform_commands.get(_platform())
    return tuple(chosen) + options.command if chosen else options.command


class Step:
    def __init__(self, options: StepOptions, runner: Runner | None = None,
                 recorder: PostWriter | None = None) -> None:
        self.o = options
        self.session = Session(options.socket, "step", options.name, options.index, options.socket_wait_seconds,
                               options.reconnect_seconds, options.await_supervisor)
        self.runner = runner or ChildRunner(options.timeout_seconds, options.grace_seconds,
                                            Tee(options.stdout_path, options.stderr_path),
                                            on_started=self.session.started,
                                            reconnect=self.session.while_running if options.socket else None,
                                            reap_orphans=True, on_sigterm=self.session.terminating)
        self.recorder = recorder or FileRecorder(options.step_dir, options.termination_path, options.post_file)

    def run(self) -> int:
        # made ready before the wait, so that `start` leaves only the spawn to do: the child's environment,
        # and the runner's pipes, selector and signal handlers (but for the ones that cancel a waiting step)
        env = environments.clean()
        self.runner.prepare(deferred=CANCELLING)
        try:
            outcome = self.turn(env)
            if outcome.message and outcome.exit_code != 0:
                log(f"step {self.o.name}: {outcome.message}")
            return self.finish(outcome)
        finally:
            self.runner.close()  # after the report: the next step may start meanwhile

    def turn(self, env: dict[str, str]) -> Outcome:
        """Wait for this step's turn, and run the child if it is to run: how the step ended."""
        command = command_for(self.o)  # before the wait: on `start` only the spawn is left to do
        resolver = None
        if self.o.result_refs:  # step results this step uses: only their files are left to read on `start`
            from entrypoint import references

            resolver = references.Resolver(self.o.result_refs)
        previous = {sig: signal.signal(sig, _raise_terminated) for sig in CANCELLING}
        try:
            verdict = self.wait()
        except Terminated as exc:
            if exc.signum == signal.SIGTERM:
                self.session.terminating()
            verdict = Verdict("skip", str(exc), cancelled=True)
        except connecting.SocketPathError as exc:
            return Outcome(exits.EXIT_WRAPPER_ERROR, "Error", None, time.time(), str(exc))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if verdict.action == "start" and not command:
            message = (f"no command for this machine's platform ({_platform()}); the image has one for: "
                       + ", ".join(sorted(self.o.platform_commands)))
            return Outcome(exits.EXIT_WRAPPER_ERROR, "Error", None, time.time(), message)
        if verdict.action == "start" and resolver is not None:
            try:
                command, env = resolver.command(command), resolver.env(env)
                command = resolver.script(command, self.o.scripts_dir, self.o.step_dir)
            except references.Unresolved as exc:
                return Outcome(exits.EXIT_WRAPPER_ERROR, "Error", None, time.time(), f"step results: {exc}")
        if verdict.action == "start":
            return self.runner.run(command, env, self.session.live())
        if verdict.action == "fail":
            return Outcome(exits.EXIT_DEBUG_FAILED, "Error", None, time.time(), verdict.reason)
        if verdict.cancelled:
            return Outcome(exits.EXIT_CANCELLED, "Cancelled", None, time.time(), verdict.reason)
        return Outcome(exits.EXIT_SKIPPED, "Skipped", None, time.time(), verdict.reason)

    def wait(self) -> Verdict:
        verdict: Verdict | None = None
        if self.o.socket:
            self.session.open()
            if self.session.channel is None:
                log(f"no supervisor at {self.o.socket}; falling back to the file chain")
            else:
                verdict = self.session.wait_turn()
        if verdict is None:
            verdict = self._file_chain()
            if verdict.action == "start" and self.o.breakpoint_before and self.o.step_dir:
                from entrypoint import holding  # breakpoints are rare: not imported at every start

                if holding.hold(self.o.step_dir, "beforeStep", self.o.poll_seconds) == "fail-continue":
                    verdict = Verdict("fail", "marked failed by debug fail-continue")
        return verdict

    def _file_chain(self) -> Verdict:
        """Tekton's file chain; with a socket, every REJOIN_SECONDS a supervisor that came back (restarted by
        the kubelet, or by `doll run`) is asked again, and takes the wait over (holds, cancel, timeouts)."""
        waiter = FileWaiter(self.o, timeout=REJOIN_SECONDS if self.o.socket else None)
        while True:
            verdict = waiter.wait()
            if verdict is not None:
                return verdict
            if self.session.reconnect(0.0) is not None:
                log("the supervisor is back; waiting for it again")
                verdict = self.session.wait_turn()
                if verdict is not None:
                    return verdict

    def finish(self, outcome: Outcome) -> int:
        """Record the outcome, then report it.

        Only the exitCode is written before the supervisor hears of the exit: it releases the next step the
        moment it does, and that step may read this one's exitCode.  The rest waits until the report is
        answered, so as not to compete with the next step's start for the CPU: the termination message (the
        kubelet reads it once the container has exited) and the post file (what releases the next step in
        file mode, and only after any hold: a hold's verdict, `debug continue` / `fail-continue`, changes the
        record).
        """
        found, unreadable = results.read(self.o.results_dir, self.o.results, self.o.result_files)
        exit_code, reason, message = outcome.exit_code, outcome.reason, outcome.message
        if unreadable:
            log(f"step {self.o.name}: {unreadable}")
            if exit_code == 0:
                exit_code, reason, message = exits.EXIT_WRAPPER_ERROR, "Error", unreadable
        continued = self.o.on_error == "continue"
        share = layout.termination_share(self.o.container_count)  # what the Pod status keeps of the message
        # rendered now only to check that the results fit (without any it always does), else after the report
        termination = results.render(found, outcome.started_at, exit_code, reason, continued, share) if found else None
        if termination is not None and not termination.fits:
            log(f"step {self.o.name}: {termination.message}")
            if exit_code == 0:
                exit_code, reason, message = exits.EXIT_RESULTS_TOO_LARGE, "Error", termination.message
        unrecorded = self._record(outcome, exit_code, reason, message, found, "", early=True)
        if unrecorded and exit_code == 0:  # a success nobody can read back (a full volume) is no success
            exit_code, reason, message = exits.EXIT_WRAPPER_ERROR, "Error", unrecorded
        finished = wire.Finished(name=self.o.name, exit_code=exit_code, reason=reason,
                                     started_at=outcome.started_at, finished_at=outcome.finished_at,
                                     results=found, message=message)
        previous = {sig: signal.signal(sig, _raise_terminated) for sig in CANCELLING}
        try:  # a terminating signal while held or waiting for the ack: record what we have, then exit
            decision = self.session.report(finished)
            if decision == "" and self._judge(reason, exit_code).breaks \
                    and self.o.breakpoint_on_failure and self.o.step_dir and not self.session.supervised:
                from entrypoint import holding

                decision = "succeeded" if holding.hold(self.o.step_dir, "onFailure", self.o.poll_seconds) \
                    == "continue" else "failed"
        except Terminated as exc:
            log(f"step {self.o.name}: {exc}".replace("before the step ran", "after the step ran"))
            decision = ""
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if decision == "succeeded":
            exit_code, reason, message = 0, "Completed", "marked succeeded by debug continue"
        elif decision == "failed" and exit_code == 0:
            exit_code, reason, message = exits.EXIT_DEBUG_FAILED, "Error", "marked failed by debug fail-continue"
        if decision or termination is None:
            termination = results.render(found, outcome.started_at, exit_code, reason, continued, share)
        if self._record(outcome, exit_code, reason, message, found, termination.text):
            return exit_code or exits.EXIT_WRAPPER_ERROR  # the files are incomplete; the journal has the outcome
        return self._judge(reason, exit_code).wrapper_exit_code(exit_code)

    def _judge(self, reason: str, exit_code: int) -> Judgement:
        """The outcome rule on this step's own end (a wrapper told to stop was stopped by the run's cancel: a
        step's own timeout is TimeoutExceeded)."""
        return judge(reason, exit_code, self.o.on_error, run_cancelled=True)

    def _record(self, outcome: Outcome, exit_code: int, reason: str, message: str, found: dict[str, str],
                termination: str, early: bool = False) -> str:
        """Write the record where the next step, the supervisor and Kubernetes look; why that failed, or ""."""
        judged = self._judge(reason, exit_code)  # a failure onError: continue forgives is recorded Completed
        record = StepRecord(name=self.o.name, exit_code=exit_code, reason=judged.reason,
                            started_at=outcome.started_at, finished_at=outcome.finished_at,
                            failed=judged.cascades(exit_code), results=found, message=message,
                            termination=termination)
        try:
            self.recorder.write(record, early)
        except OSError as exc:
            log(f"step {self.o.name}: cannot record the outcome: {exc}")
            return f"cannot record the outcome: {exc}"
        return ""


def main(options: StepOptions) -> int:
    return Step(options).run()
