"""Readiness probes run from inside the Pod: httpGet, tcpSocket, grpc health, and exec via the wrapper.

`PodProber.probe(sidecar, spec) -> ProbeResult` runs one attempt bounded by the spec's timeout, with
kubelet's rules: HTTP 200-399 is success (HTTPS is not verified), a TCP connect is success, gRPC needs
SERVING, exec needs exit code 0 inside the sidecar's own container.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Protocol

from contracts.wire import ProbeResult
from supervisor import health_checking
from contracts.plans import ProbeSpec

__all__ = ["ExecProbe", "PodProber", "Prober"]

ExecProbe = Callable[[str, tuple[str, ...], float], Awaitable[ProbeResult]]


class Prober(Protocol):
    async def probe(self, sidecar: str, spec: ProbeSpec) -> ProbeResult: ...


class PodProber:
    def __init__(self, exec_probe: ExecProbe) -> None:
        self._exec = exec_probe

    async def probe(self, sidecar: str, spec: ProbeSpec) -> ProbeResult:
        if spec.kind == "exec":
            return await self._exec(sidecar, spec.command, spec.timeout_seconds)
        try:
            async with asyncio.timeout(spec.timeout_seconds):
                if spec.kind == "httpGet":
                    return await _http(spec)
                if spec.kind == "tcpSocket":
                    return await _tcp(spec)
                ok, why = await health_checking.check(spec.host, spec.port or 0, spec.service)
                return ProbeResult(ok=ok, output=why)
        except TimeoutError:
            return ProbeResult(ok=False, output=f"timed out after {spec.timeout_seconds}s")
        except (OSError, ValueError) as exc:
            return ProbeResult(ok=False, output=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a protocol library error (h2) is a failed probe, never a crash
            return ProbeResult(ok=False, output=f"{type(exc).__name__}: {exc}")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def _tcp(spec: ProbeSpec) -> ProbeResult:
    _, writer = await asyncio.open_connection(spec.host, spec.port)
    await _close(writer)
    return ProbeResult(ok=True, output="connected")


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # kubelet does not verify probe certificates either
    return ctx


async def _http(spec: ProbeSpec) -> ProbeResult:
    for name, value in spec.headers:
        if any(c in name + value for c in "\r\n"):
            return ProbeResult(ok=False, output=f"header {name!r}: contains a line break")
    path = spec.path if spec.path.startswith("/") else "/" + spec.path
    tls = _insecure() if spec.scheme == "HTTPS" else None
    reader, writer = await asyncio.open_connection(spec.host, spec.port, ssl=tls)
    try:
        names = {n.lower() for n, _ in spec.headers}
        lines = [f"GET {path} HTTP/1.1"]
        lines += [f"{n}: {v}" for n, v in (("Host", f"{spec.host}:{spec.port}"), ("User-Agent", "kube-probe/doll"),
                                         ("Accept", "*/*")) if n.lower() not in names]
        lines += [f"{n}: {v}" for n, v in spec.headers] + ["Connection: close", "", ""]
        writer.write("\r\n".join(lines).encode("latin-1"))
        status_line = (await reader.readline()).decode("latin-1").strip()
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            return ProbeResult(ok=False, output=f"not an HTTP response: {status_line[:80]!r}")
        code = int(parts[1])
        return ProbeResult(ok=200 <= code < 400, output=f"HTTP {code}")
    finally:
        await _close(writer)
