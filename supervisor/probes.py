"""Readiness probes run from inside the Pod: httpGet, tcpSocket, grpc health, and exec via the wrapper.

`PodProber.probe(sidecar, spec) -> ProbeResult` runs one attempt bounded by the spec's timeout, with
kubelet's rules: HTTP 200-399 is success (HTTPS is not verified), a TCP connect is success, gRPC needs
SERVING, exec needs exit code 0 inside the sidecar's own container.

A probe without a host (httpGet/tcpSocket without `host`, every grpc probe) goes where the kubelet sends
it: the Pod IP (pkg/kubelet/prober/prober.go runProbe: `host = status.PodIP` when the probe names none).
The supervisor learns it from POD_IP (the generator sets it from the downward API, `status.podIP`), else
from its hostname's address (a Pod's /etc/hosts maps its hostname to the Pod IP; podman's too), else uses
127.0.0.1.  A server bound to the Pod IP only then passes doll's gate as it passes the kubelet's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import ssl
from collections.abc import Awaitable, Callable
from typing import Protocol

from contracts.wire import ProbeResult
from supervisor import health_checking
from contracts.plans import ProbeSpec

__all__ = ["ExecProbe", "PodProber", "Prober", "pod_address"]

ExecProbe = Callable[[str, tuple[str, ...], float], Awaitable[ProbeResult]]


class Prober(Protocol):
    async def probe(self, sidecar: str, spec: ProbeSpec) -> ProbeResult: ...


def pod_address(environ: dict[str, str]) -> str:
    """Where the kubelet probes: POD_IP, else the hostname's (non-loopback) address, else 127.0.0.1."""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(environ.get("POD_IP", "").strip()))
    with contextlib.suppress(OSError, UnicodeError):
        for *_, address in socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM):
            if not ipaddress.ip_address(str(address[0]).partition("%")[0]).is_loopback:
                return str(address[0])
    return "127.0.0.1"


class PodProber:
    def __init__(self, exec_probe: ExecProbe, address: str | None = None) -> None:
        self._exec = exec_probe
        self._address = address  # the Pod IP; None: found on the first probe that needs it (pod_address)

    async def probe(self, sidecar: str, spec: ProbeSpec) -> ProbeResult:
        if spec.kind == "exec":
            return await self._exec(sidecar, spec.command, spec.timeout_seconds)
        if not spec.host and self._address is None:  # off the loop: a hostname lookup may ask DNS
            self._address = await asyncio.to_thread(pod_address, dict(os.environ))
        host = spec.host or self._address or "127.0.0.1"
        try:
            async with asyncio.timeout(spec.timeout_seconds):
                if spec.kind == "httpGet":
                    return await _http(spec, host)
                if spec.kind == "tcpSocket":
                    return await _tcp(spec, host)
                ok, why = await health_checking.check(host, spec.port or 0, spec.service)
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


async def _tcp(spec: ProbeSpec, host: str) -> ProbeResult:
    _, writer = await asyncio.open_connection(host, spec.port)
    await _close(writer)
    return ProbeResult(ok=True, output="connected")


def _insecure() -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # kubelet does not verify probe certificates either
    return ctx


async def _http(spec: ProbeSpec, host: str) -> ProbeResult:
    for name, value in spec.headers:
        if any(c in name + value for c in "\r\n"):
            return ProbeResult(ok=False, output=f"header {name!r}: contains a line break")
    path = spec.path if spec.path.startswith("/") else "/" + spec.path
    tls = _insecure() if spec.scheme == "HTTPS" else None
    reader, writer = await asyncio.open_connection(host, spec.port, ssl=tls)
    authority = f"[{host}]:{spec.port}" if ":" in host else f"{host}:{spec.port}"
    try:
        names = {n.lower() for n, _ in spec.headers}
        lines = [f"GET {path} HTTP/1.1"]
        lines += [f"{n}: {v}" for n, v in (("Host", authority), ("User-Agent", "kube-probe/doll"),
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
