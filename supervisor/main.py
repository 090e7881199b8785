"""`doll supervise [--plan PATH] [--kube-client http|kubernetes-asyncio]`: the in-Pod supervisor.

The plan comes from `--plan PATH` (default /doll/run/plan.json) or, when that file does not exist, the
DOLL_PLAN environment variable (the JSON itself).  The Pod's name comes from POD_NAME, else the plan's
pod.name, else HOSTNAME.

Exit codes (classic layout; in the native layout the supervisor exits 0 once told to stop):

    0    the task succeeded            121  the task was cancelled (SIGTERM, `doll ctl cancel`)
    1    the task failed               124  the task timed out
    2    bad command line or plan      3    the supervisor itself failed (socket, journal)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contracts import exits, layout
from contracts.parsing import Parser
from contracts.errors import UsageError
from contracts import errors
from supervisor.journaling import Journal, JournalError
from supervisor.kube_api import KUBE_CLIENTS
from supervisor.logs import Log
from contracts.plans import Plan, PlanError
from supervisor.listening import Listeners, listen
from supervisor.runner import Runner
from supervisor.states import RunState
from supervisor.timings import Timings

if TYPE_CHECKING:
    from supervisor.exporting import Exporter
    from supervisor.publishing import Publisher

__all__ = ["exit_code_for", "load_plan", "main", "pod_name", "supervise"]

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXIT_CODES = {"Succeeded": EXIT_SUCCEEDED, "Failed": EXIT_FAILED, "Cancelled": exits.EXIT_CANCELLED,
              "TimedOut": exits.EXIT_TIMEOUT}
DEFAULT_PLAN = f"{layout.DOLL_RUN}/{layout.PLAN_NAME}"
SIDECAR_STOP_SLACK = 5.0  # beyond the longest sidecar grace, to hear that they stopped
PUBLISH_FLUSH_SECONDS = 5.0
HTTP_START_SECONDS = 10.0

# The supervisor's errors and their exit codes, in one table: the first class an error is an instance of wins.
EXIT_CODES_FOR_ERRORS: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, EXIT_USAGE),  # contracts.options' (not yet a DollError)
    (PlanError, EXIT_USAGE),
    (JournalError, EXIT_ERROR),
    (OSError, EXIT_ERROR),  # a socket that cannot be bound, a run directory that cannot be made
    (KeyboardInterrupt, exits.EXIT_CANCELLED),
)


def exit_code_for(error: BaseException) -> int:
    """The supervisor's exit status for `error` (EXIT_CODES_FOR_ERRORS, else a DollError's own)."""
    for cls, code in EXIT_CODES_FOR_ERRORS:
        if isinstance(error, cls):
            return code
    if isinstance(error, errors.DollError):
        return errors.exit_code_for(error)
    return EXIT_ERROR


def load_plan(path: str | None, environ: dict[str, str]) -> Plan:
    """The plan from the file, else from DOLL_PLAN; PlanError names the field (or the file)."""
    chosen = path or DEFAULT_PLAN
    if path is None and not os.path.exists(chosen) and environ.get("DOLL_PLAN"):
        return Plan.from_json(environ["DOLL_PLAN"])
    try:
        with open(chosen, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise PlanError(f"--plan: {chosen}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise PlanError(f"--plan: {chosen}: not UTF-8 text") from None
    return Plan.from_json(text)


def pod_name(plan: Plan, environ: dict[str, str]) -> str:
    return environ.get("POD_NAME") or plan.pod.name or environ.get("HOSTNAME", "")


async def _wait(event: asyncio.Event, seconds: float | None) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    return event.is_set()


@dataclass
class _Run:
    """One supervised run's parts, once open."""

    plan: Plan
    log: Log
    state: RunState
    runner: Runner
    listeners: Listeners
    exporter: Exporter
    terminate: asyncio.Event = field(default_factory=asyncio.Event)  # SIGTERM
    failures: list[JournalError] = field(default_factory=list)  # the journal failed where nobody awaits


async def supervise(plan: Plan, pod: str, log: Log, registry: Any = None, http_host: str = "0.0.0.0",
                    kube_client: str = KUBE_CLIENTS[0], timings: Timings = Timings()) -> str:
    """Run the plan to its end; return the task's outcome (Succeeded, Failed, Cancelled, TimedOut)."""
    async with contextlib.AsyncExitStack() as stack:
        run = await _open(plan, pod, log, registry, timings, stack)
        try:
            async with asyncio.TaskGroup() as tg:
                background, publisher = _start_parts(run, tg, pod, http_host, kube_client)
                await run.runner.done.wait()
                if run.failures:
                    raise run.failures[0]
                await _wind_up(run, pod, publisher)
                for task in background:
                    task.cancel()
        except ExceptionGroup as group:  # a part raised: the journal's failure is the supervisor's, exit 3
            raise next((e for e in group.exceptions if isinstance(e, JournalError)), group) from None
        if run.failures:  # the journal failed after the run's outcome (a sidecar's stop, say): still exit 3
            raise run.failures[0]
    log.info("exit", outcome=run.state.outcome, reason=run.state.reason)
    return run.state.outcome


async def _open(plan: Plan, pod: str, log: Log, registry: Any, timings: Timings,
                stack: contextlib.AsyncExitStack) -> _Run:
    """Replay the journal, listen on the control socket, resume the run; each part is closed by `stack`."""
    from supervisor.exporting import Exporter

    os.makedirs(plan.run_dir, exist_ok=True)
    journal, records = Journal.open(os.path.join(plan.run_dir, layout.JOURNAL_NAME), log)
    stack.callback(journal.close)
    state = RunState.from_plan(plan)
    for rec in records:
        state.apply(rec)
    runner = Runner(plan, state, journal, log, timings=timings)
    listeners = await listen(plan, runner, log, stack)
    stack.callback(runner.close)
    log.info("listening", socket=listeners.admin.path, channels=len(listeners.channels), resumed=len(records),
             pod=pod)
    runner.begin()
    exporter = Exporter(state, registry, {"name": pod, "namespace": plan.pod.namespace,
                                          "task_run": plan.pod.task_run, "task": plan.pod.task},
                        lambda: listeners.drops.counts, log)
    run = _Run(plan, log, state, runner, listeners, exporter)
    _handle_signals_and_loop_errors(run, stack)
    return run


def _handle_signals_and_loop_errors(run: _Run, stack: contextlib.AsyncExitStack) -> None:
    loop = asyncio.get_running_loop()

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, JournalError):
            run.failures.append(exc)
            run.runner.done.set()  # nothing can be decided durably any more: wind up, then exit 3
        elif not run.listeners.on_loop_error(context, run.log):
            loop.default_exception_handler(context)

    def on_sigterm() -> None:
        # mid-run: cancel (the steps are stopped, the sidecars too in the classic layout); the kubelet sends
        # SIGTERM once.  Classic: exit as soon as the run has wound down.  Native: the kubelet stops the
        # supervisor within a second of the last step (killContainersWithSyncResult, sidecars last), so it
        # still serves until one scrape (at most linger_seconds, within the Pod's grace period)
        run.runner.cancel("Cancelled", "the supervisor got SIGTERM")
        run.terminate.set()
        if run.plan.layout == "classic":
            run.exporter.scraped.set()  # stop lingering

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    stack.callback(loop.remove_signal_handler, signal.SIGTERM)
    loop.set_exception_handler(on_loop_error)
    stack.callback(loop.set_exception_handler, None)  # closed first, as `stack` closes in reverse


def _start_parts(run: _Run, tg: asyncio.TaskGroup, pod: str, http_host: str,
                 kube_client: str) -> tuple[list[asyncio.Task[None]], Publisher | None]:
    """The run's background tasks: HTTP, reconciling, one readiness watch per sidecar, publishing, stalls."""
    from supervisor import readying, reconciling
    from supervisor.probes import PodProber

    plan, runner, exporter, log = run.plan, run.runner, run.exporter, run.log
    serving = _best_effort(exporter.serve(http_host, plan.metrics_port), exporter.settled, log, "http")
    background = [tg.create_task(serving, name="http"),
                  tg.create_task(reconciling.reconcile(runner, plan.steps_dir), name="reconcile")]
    prober = PodProber(runner.sidecars.exec_probe)
    for car in plan.sidecars:
        background.append(tg.create_task(readying.watch(runner.sidecars, runner.done, car, prober),
                                         name=f"ready-{car.name}"))
    publisher = None
    if plan.publish_to_api:
        from supervisor.publishing import Publisher
        publisher = Publisher(plan, pod, run.state, log, client=kube_client)
        runner.listeners.append(publisher.notify)
        background.append(tg.create_task(_best_effort(publisher.run(), publisher.idle, log, "publish"),
                                         name="publish"))
        background.append(tg.create_task(_watch_stalls(run, pod, kube_client), name="stalls"))
    return background, publisher


async def _watch_stalls(run: _Run, pod: str, kube_client: str) -> None:
    """In a cluster: fail a released step whose container ended before its wrapper said hello (stalls.py)."""
    from supervisor import kube_api
    from supervisor.stalls import StallWatch

    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return
    watch = StallWatch(run.runner, lambda: kube_api.open_pod_api(kube_client, pod, run.plan.pod.namespace,
                                                                 dict(os.environ)),
                       run.log, run.runner.timings.stall_poll_seconds, kube_api.REQUEST_TIMEOUT)
    await _best_effort(watch.run(), asyncio.Event(), run.log, "stall_watch")


async def _wind_up(run: _Run, pod: str, publisher: Publisher | None) -> None:
    """The run has its outcome: stop the sidecars, push and publish the end, linger for a last scrape."""
    plan, exporter = run.plan, run.exporter
    await _stop_sidecars(plan, run.runner, run.log)
    exporter.done.set()
    await _wait(exporter.settled, HTTP_START_SECONDS)  # a short run may end before HTTP is up
    if plan.pushgateway:
        if exporter.registry is not None:
            from supervisor.pushing import push
            await push(plan.pushgateway, exporter.registry, pod, run.log)
    if publisher is not None:
        await publisher.flush(PUBLISH_FLUSH_SECONDS)
    if plan.layout == "native":
        await run.terminate.wait()  # a native sidecar that exits would be restarted: wait to be stopped
    if exporter.serving.is_set() and not exporter.scraped.is_set():
        # the final values until one scrape (any scrape since the end counts); classic: SIGTERM ends it
        await _wait(exporter.scraped, plan.linger_seconds)


async def _best_effort(coro: Coroutine[Any, Any, None], settled: asyncio.Event, log: Log, what: str) -> None:
    """Run a part the run does not depend on (HTTP, publishing): its crash is logged, never fatal."""
    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error(f"{what}_failed", error=f"{type(exc).__name__}: {exc}")
        settled.set()


async def _stop_sidecars(plan: Plan, runner: Runner, log: Log) -> None:
    """Wait (bounded) for the sidecars told to stop at the end of the run to go (classic layout only)."""
    if not plan.sidecars or plan.layout != "classic":
        return
    limit = max(c.stop_grace_seconds for c in plan.sidecars) + SIDECAR_STOP_SLACK
    deadline = asyncio.get_running_loop().time() + limit
    while runner.sidecars.stopping():
        runner.sidecars.changed.clear()
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0 or not await _wait(runner.sidecars.changed, left):
            log.warning("sidecars_not_stopped", sidecars=runner.sidecars.stopping(), waited=limit)
            return


def main(argv: list[str] | None = None, timings: Timings = Timings()) -> int:
    """`doll supervise`; `timings` are the production ones unless a test passes shorter ones."""
    args = sys.argv[1:] if argv is None else argv
    parser = Parser(prog="doll supervise", description="the in-Pod supervisor")
    parser.add_argument("--plan", default=None, help=f"plan file (default {DEFAULT_PLAN}, else $DOLL_PLAN)")
    parser.add_argument("--kube-client", choices=KUBE_CLIENTS, default=KUBE_CLIENTS[0],
                        help="how Pod annotations and Events reach the Kubernetes API (plan.publish_to_api, "
                             "in a cluster): http (default) sends the two requests on aiohttp, which the "
                             "supervisor loads anyway; kubernetes-asyncio uses the official client, whose "
                             "import costs ~40 MB more RSS (80 MB peak instead of 40 MB) and 0.5-0.9 s CPU")
    log = Log()
    try:
        ns = parser.parse_args(args)
        plan = load_plan(ns.plan, dict(os.environ))
    except (UsageError, PlanError) as exc:
        print(f"doll supervise: {'bad plan: ' if isinstance(exc, PlanError) else ''}{exc}", file=sys.stderr)
        return exit_code_for(exc)
    pod = pod_name(plan, dict(os.environ))
    log = Log(pod=pod) if pod else log
    try:
        outcome = asyncio.run(supervise(plan, pod, log, kube_client=ns.kube_client, timings=timings))
    except (JournalError, OSError) as exc:
        log.error("supervisor_failed", error=str(exc))
        return exit_code_for(exc)
    except KeyboardInterrupt as exc:
        return exit_code_for(exc)
    if plan.layout == "native":
        return EXIT_SUCCEEDED
    return EXIT_CODES.get(outcome, EXIT_ERROR)
