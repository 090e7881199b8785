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
from typing import Any

from contracts import exits, layout
from contracts.parsing import Parser
from contracts.errors import UsageError
from supervisor.journaling import Journal, JournalError
from supervisor.logs import Log
from supervisor.ordering import Runner
from contracts.plans import Plan, PlanError
from supervisor.requesting import KUBE_CLIENTS
from supervisor.serving import ControlServer
from supervisor.states import RunState

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXIT_CODES = {"Succeeded": EXIT_SUCCEEDED, "Failed": EXIT_FAILED, "Cancelled": exits.EXIT_CANCELLED,
              "TimedOut": exits.EXIT_TIMEOUT}
DEFAULT_PLAN = f"{layout.DOLL_RUN}/{layout.PLAN_NAME}"
SIDECAR_STOP_SLACK = 5.0  # beyond the longest sidecar grace, to hear that they stopped
PUBLISH_FLUSH_SECONDS = 5.0
HTTP_START_SECONDS = 10.0


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


async def supervise(plan: Plan, pod: str, log: Log, registry: Any = None, http_host: str = "0.0.0.0",
                    kube_client: str = KUBE_CLIENTS[0]) -> str:
    """Run the plan to its end; return the task's outcome (Succeeded, Failed, Cancelled, TimedOut)."""
    from supervisor import exporting, readying, reconciling
    from supervisor.probing import PodProber

    os.makedirs(plan.run_dir, exist_ok=True)
    journal, records = Journal.open(os.path.join(plan.run_dir, layout.JOURNAL_NAME))
    state = RunState.from_plan(plan)
    for rec in records:
        state.apply(rec)
    runner = Runner(plan, state, journal, log)
    server = ControlServer(os.path.join(plan.run_dir, layout.SOCKET_NAME), runner, log)
    await server.start()
    log.info("listening", socket=server.path, resumed=len(records), pod=pod)
    runner.begin()
    exporter = exporting.Exporter(state, registry, {"name": pod, "namespace": plan.pod.namespace,
                                                    "task_run": plan.pod.task_run, "task": plan.pod.task},
                                  lambda: server.dropped, log)
    terminate = asyncio.Event()
    loop = asyncio.get_running_loop()
    failures: list[JournalError] = []  # the journal failed where nobody awaits (a connection, a timer)

    def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, JournalError):
            failures.append(exc)
            runner.done.set()  # nothing can be decided durably any more: wind up, then exit 3
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(on_loop_error)

    def on_sigterm() -> None:
        # mid-run: cancel (the steps are stopped, the sidecars too in the classic layout); either way the
        # supervisor then exits as soon as the run has wound down: the kubelet sends SIGTERM once
        runner.cancel("Cancelled", "the supervisor got SIGTERM")
        terminate.set()
        exporter.scraped.set()  # stop lingering

    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    publisher: Any = None
    try:
        try:
            async with asyncio.TaskGroup() as tg:
                serving = _best_effort(exporter.serve(http_host, plan.metrics_port), exporter.settled, log, "http")
                background = [tg.create_task(serving, name="http"),
                              tg.create_task(reconciling.reconcile(runner, plan.steps_dir), name="reconcile")]
                prober = PodProber(runner.sidecars.exec_probe)
                for car in plan.sidecars:
                    background.append(tg.create_task(readying.watch(runner.sidecars, runner.done, car, prober),
                                                     name=f"ready-{car.name}"))
                if plan.publish_to_api:
                    from supervisor.publishing import Publisher
                    publisher = Publisher(plan, pod, state, log, client=kube_client)
                    runner.listeners.append(publisher.notify)
                    background.append(tg.create_task(_best_effort(publisher.run(), publisher.idle, log, "publish"),
                                                     name="publish"))
                await runner.done.wait()
                if failures:
                    raise failures[0]
                await _stop_sidecars(plan, runner, log)
                exporter.done.set()
                await _wait(exporter.settled, HTTP_START_SECONDS)  # a short run may end before HTTP is up
                if plan.pushgateway:
                    if exporter.registry is not None:
                        from supervisor.pushing import push
                        await push(plan.pushgateway, exporter.registry, pod, log)
                if publisher is not None:
                    await publisher.flush(PUBLISH_FLUSH_SECONDS)
                if exporter.serving.is_set() and not terminate.is_set():
                    await _wait(exporter.scraped, plan.linger_seconds)  # SIGTERM sets it too
                if plan.layout == "native":
                    await terminate.wait()  # a native sidecar that exits would be restarted: wait to be stopped
                for task in background:
                    task.cancel()
        except ExceptionGroup as group:  # a part raised: the journal's failure is the supervisor's, exit 3
            raise next((e for e in group.exceptions if isinstance(e, JournalError)), group) from None
        if failures:  # the journal failed after the run's outcome (a sidecar's stop, say): still exit 3
            raise failures[0]
    finally:
        loop.set_exception_handler(None)
        loop.remove_signal_handler(signal.SIGTERM)
        runner.close()
        await server.close()
        journal.close()
    log.info("exit", outcome=state.outcome, reason=state.reason)
    return state.outcome


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


def main(argv: list[str] | None = None) -> int:
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
    except UsageError as exc:
        print(f"doll supervise: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PlanError as exc:
        print(f"doll supervise: bad plan: {exc}", file=sys.stderr)
        return EXIT_USAGE
    pod = pod_name(plan, dict(os.environ))
    log = Log(pod=pod) if pod else log
    try:
        outcome = asyncio.run(supervise(plan, pod, log, kube_client=ns.kube_client))
    except (JournalError, OSError) as exc:
        log.error("supervisor_failed", error=str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        return exits.EXIT_CANCELLED
    if plan.layout == "native":
        return EXIT_SUCCEEDED
    return EXIT_CODES.get(outcome, EXIT_ERROR)
