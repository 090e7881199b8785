"""The HTTP side (aiohttp): /metrics, /status, /healthz, /readyz on plan.metrics_port.

The port listens on every interface, as a Prometheus scrape of the Pod needs.  /status answers only requests
from loopback, that is from the Pod's own containers, and even there carries no step's results or messages:
every step shares the Pod's loopback, and a step may not read what is not its own (a token a step printed to
a result is a secret).  The whole view, results included, is the admin socket's: `doll ctl status --json`
in the supervisor's container.

aiohttp and prometheus-client are imported in a worker thread after the control socket is up, so they
never delay step 0.  `Exporter.scraped` is set by the first /metrics scrape after the run ended: the
supervisor lingers until then (bounded by plan.linger_seconds) so the final values are not lost.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

from supervisor.logs import Log
from supervisor.states import RunState

__all__ = ["Exporter", "import_off_loop"]


_importing = 0  # imports running in worker threads (the HTTP server's and the API client's may overlap)
_switch_interval = sys.getswitchinterval()


async def import_off_loop(name: str) -> Any:
    """Import in a worker thread, with a short GIL switch interval meanwhile so the event loop (a step's
    hand-off) waits at most ~0.5 ms for the GIL instead of the default 5 ms."""
    global _importing, _switch_interval
    if _importing == 0:
        _switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
    _importing += 1
    try:
        return await asyncio.to_thread(importlib.import_module, name)
    finally:
        _importing -= 1
        if _importing == 0:
            sys.setswitchinterval(_switch_interval)


class Exporter:
    def __init__(self, state: RunState, registry: Any, identity: dict[str, str],
                 dropped: Callable[[], dict[str, int]], log: Log) -> None:
        self.state = state
        self.registry = registry  # a prometheus_client CollectorRegistry; created on start() when None
        self.identity = identity
        self.dropped = dropped
        self.log = log
        self.done = asyncio.Event()  # the run ended: the next scrape is the final one
        self.scraped = asyncio.Event()
        self.serving = asyncio.Event()
        self.settled = asyncio.Event()  # serving, or given up (port unavailable)
        self.port = 0

    async def start_metrics(self) -> None:
        """Import prometheus-client off the event loop and register the run's collector."""
        prom = await import_off_loop("prometheus_client")
        metrics = await import_off_loop("supervisor.metrics")
        if self.registry is None:
            self.registry = prom.CollectorRegistry()
        self.registry.register(metrics.RunCollector(self.state, self.dropped))

    async def serve(self, host: str, port: int) -> None:
        """Serve until cancelled; a port that cannot be bound is logged, and the run goes on without HTTP."""
        web = await import_off_loop("aiohttp.web")
        prom = await import_off_loop("prometheus_client")
        await self.start_metrics()
        gc.freeze()  # the imports' objects never die: keep them out of the collector's way (shorter pauses)

        async def metrics(request: Any) -> Any:
            body = prom.generate_latest(self.registry)
            if self.done.is_set():
                self.scraped.set()
            return web.Response(body=body, headers={"Content-Type": prom.CONTENT_TYPE_LATEST})

        async def status(request: Any) -> Any:
            if not _loopback(request.remote):  # the Pod's own containers only: it holds the steps' results
                return web.Response(status=403, text="/status is served on loopback only (the steps' results "
                                                     "may be secrets); in the Pod: doll ctl status\n")
            data = {"pod": self.identity, **without_results(self.state.to_status())}
            return web.Response(text=json.dumps(data, indent=1), content_type="application/json")

        async def healthz(request: Any) -> Any:
            return web.Response(text="ok\n")

        async def readyz(request: Any) -> Any:
            return web.Response(text="ready\n")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/status", status)
        app.router.add_get("/healthz", healthz)
        app.router.add_get("/readyz", readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                self.log.error("http_unavailable", port=port, error=str(exc))
                self.settled.set()
                return
            addresses = runner.addresses
            self.port = int(addresses[0][1]) if addresses else port
            self.serving.set()
            self.settled.set()
            self.log.info("http_listening", port=self.port)
            await asyncio.Event().wait()  # until cancelled
        finally:
            await runner.cleanup()


def _loopback(remote: str | None) -> bool:
    """A peer address on loopback (127.0.0.0/8, ::1, or IPv4 loopback mapped into IPv6)."""
    host = (remote or "").removeprefix("::ffff:")
    return host == "::1" or host.startswith("127.")


def without_results(status: dict[str, Any]) -> dict[str, Any]:
    """The run as any container of the Pod may see it: each step's phase, times, exit code and reason, the
    names of its results, never their values or its message (those are the step's own), nor the values of the
    Pipeline's results."""
    steps = [{**{k: v for k, v in step.items() if k not in ("results", "message")},
              "result_names": sorted(step.get("results") or {})} for step in status.get("steps", [])]
    shown = {k: v for k, v in status.items() if k != "pipeline_result_values"}
    return {**shown, "steps": steps, "message": ""}
