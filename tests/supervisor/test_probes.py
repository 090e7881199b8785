"""Probes against real servers: HTTP status rules, HTTPS without verification, TCP, gRPC health."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from contracts.wire import ProbeResult
from supervisor import health_checking
from contracts.plans import ProbeSpec
from supervisor.probes import PodProber
from supervisor_rig import free_port

HERE = Path(__file__).parent


async def _no_exec(sidecar: str, command: tuple[str, ...], timeout: float) -> ProbeResult:
    raise AssertionError("no exec probe expected")


@pytest.fixture
async def web_port(tmp_path: Path) -> AsyncIterator[tuple[int, int]]:
    """An HTTP and an HTTPS (self-signed) server: /ok 200, /redirect 302, /broken 500, /echo echoes X-Probe."""
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/ok"})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=500)

    async def echo(request: web.Request) -> web.Response:
        return web.Response(status=200 if request.headers.get("X-Probe") == "yes" else 403)

    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=x",
                    "-keyout", str(tmp_path / "k"), "-out", str(tmp_path / "c")], check=True, capture_output=True)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp_path / "c", tmp_path / "k")
    app = web.Application()
    for path, handler in (("/ok", ok), ("/redirect", redirect), ("/broken", broken), ("/echo", echo)):
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    http, https = web.TCPSite(runner, "127.0.0.1", 0), web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await http.start()
    await https.start()
    ports = [int(a[1]) for a in runner.addresses]
    try:
        yield ports[0], ports[1]
    finally:
        await runner.cleanup()


async def test_http_probes_follow_kubelets_status_rules(web_port: tuple[int, int]) -> None:
    port, tls_port = web_port
    prober = PodProber(_no_exec, "127.0.0.1")

    async def probe(path: str, **kw: object) -> bool:
        spec = ProbeSpec(kind="httpGet", port=kw.pop("port", port), path=path, **kw)  # type: ignore[arg-type]
        return (await prober.probe("web", spec)).ok

    assert await probe("/ok") and await probe("/redirect")
    assert not await probe("/broken") and not await probe("/nope")
    assert await probe("/ok", port=tls_port, scheme="HTTPS")  # self-signed: not verified, as kubelet
    assert await probe("/echo", headers=(("X-Probe", "yes"),)) and not await probe("/echo")
    assert not await probe("/echo", headers=(("X-Probe", "yes\r\nX-Evil: 1"),))


async def test_tcp_probes_need_a_listener() -> None:
    prober = PodProber(_no_exec, "127.0.0.1")
    closed = await prober.probe("db", ProbeSpec(kind="tcpSocket", port=free_port()))
    assert not closed.ok and "ConnectionRefused" in closed.output
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert (await prober.probe("db", ProbeSpec(kind="tcpSocket", port=port))).ok
    finally:
        server.close()
        await server.wait_closed()


async def test_grpc_health_needs_serving_for_the_named_service() -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(sys.executable, str(HERE / "grpc_health_server.py"), str(port),
                                                "NOT_SERVING")
    try:
        for _ in range(300):
            try:
                ok, why = await health_checking.check("127.0.0.1", port, "db")
                break
            except OSError:
                await asyncio.sleep(0.02)
        assert ok and why == "health status 1"
        assert await health_checking.check("127.0.0.1", port, "") == (False, "health status 2")
        ok, why = await health_checking.check("127.0.0.1", port, "nope")
        assert not ok and why.startswith("grpc-status 5")  # NOT_FOUND for an unknown service
        spec = ProbeSpec(kind="grpc", port=port, service="db", timeout_seconds=2)
        assert (await PodProber(_no_exec, "127.0.0.1").probe("g", spec)).ok
    finally:
        proc.terminate()
        await proc.wait()


def test_the_health_messages_round_trip() -> None:
    assert health_checking.encode_request("") == b"\x00\x00\x00\x00\x00"
    assert health_checking.encode_request("db") == b"\x00\x00\x00\x00\x04\x0a\x02db"
    assert health_checking.decode_status(b"\x00\x00\x00\x00\x02\x08\x01") == 1
    assert health_checking.decode_status(b"\x00\x00\x00\x00\x00") == 0
    with pytest.raises(ValueError):
        health_checking.decode_status(b"\x00\x00")
