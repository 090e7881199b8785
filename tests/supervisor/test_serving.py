"""The control socket: bad peers are dropped and logged without disturbing the run; hello is idempotent."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import stat
from pathlib import Path

from contracts import wire
from supervisor.journaling import Journal
from supervisor.logs import Log
from supervisor.runner import Runner
from contracts.plans import Plan
from supervisor.drops import Drops
from supervisor.gate import Gate
from supervisor.serving import ControlServer
from supervisor.states import RunState
from supervisor_rig import Pod, wait_for


def _talk(path: str, data: bytes) -> bytes:
    """Send raw bytes; return what comes back until the supervisor closes the connection."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        try:
            s.sendall(data)
        except BrokenPipeError:
            pass
        got = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return got
            if not chunk:
                return got
            got += chunk


def test_garbage_oversized_unknown_and_hello_less_peers_are_dropped_and_the_run_goes_on(pod: Pod) -> None:
    pod.plan(["a", "b"])
    pod.supervise()
    pod.steps({"a": "sleep 1", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    assert _talk(pod.socket, b"this is not json\n") == b""
    assert _talk(pod.socket, b"x" * (wire.MAX_MESSAGE_BYTES + 10)) == b""
    assert _talk(pod.socket, wire.encode(wire.Hello(kind="step", name="zz"))) == b""
    assert _talk(pod.socket, wire.encode(wire.Started(name="a", started_at=1.0))) == b""
    assert _talk(pod.socket, b'{"op":"hello","kind":"step","name":7}\n') == b""
    _, metrics = pod.http("/metrics")
    for why in ("garbage", "oversized", "unknown", "no-hello"):
        assert f'doll_control_dropped_total{{why="{why}"}}' in metrics
    assert 'doll_control_dropped_total{why="garbage"} 2.0' in metrics  # counted every time,
    assert pod.finish() == 0
    assert pod.order() == ["a", "b"]
    dropped = [r["why"] for r in pod.supervisor_log() if r["event"] == "connection_dropped"]
    assert sorted(dropped) == ["garbage", "no-hello", "oversized", "unknown"]  # logged once per why and 10 s


def test_the_control_socket_is_only_for_the_pods_user_and_group(pod: Pod) -> None:
    pod.plan(["a"])
    pod.supervise()
    pod.wait_socket()
    st = os.stat(pod.socket)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == os.stat(pod.run_dir).st_gid
    pod.step("a", 0)
    assert pod.finish() == 0


def test_a_second_hello_for_a_step_whose_wrapper_is_connected_is_refused_and_the_run_goes_on(pod: Pod) -> None:
    """Replays the hijack: a hello as `a` while a's wrapper is connected no longer takes its place."""
    pod.plan(["a", "b"])
    pod.supervise()
    pod.steps({"a": "sleep 1", "b": "true"})
    wait_for(lambda: pod.order() == ["a"], what="a to start")
    assert _talk(pod.socket, wire.encode(wire.Hello(kind="step", name="a", index=0))) == b""
    assert pod.finish() == 0
    assert pod.order() == ["a", "b"]
    assert [r["step"] for r in pod.journal() if r["ev"] == "released"] == ["a", "b"]
    assert sorted(r["step"] for r in pod.journal() if r["ev"] == "announced") == ["a", "b"]  # once each


async def test_a_half_open_connection_and_a_truncated_line_are_dropped(tmp_path: Path) -> None:
    plan = Plan.from_dict({"steps": [{"name": "a", "index": 0, "container": "a"}], "run_dir": str(tmp_path)})
    journal, _ = Journal.open(str(tmp_path / "journal.jsonl"))
    stream = io.StringIO()
    log = Log(stream)
    runner = Runner(plan, RunState.from_plan(plan), journal, log)
    drops = Drops(log)
    server = ControlServer(str(tmp_path / "c.sock"), Gate(runner, drops), log, hello_timeout=0.3, drops=drops)
    await server.start()
    try:
        reader, writer = await asyncio.open_unix_connection(server.path)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # silent: closed after hello_timeout
        writer.close()
        reader, writer = await asyncio.open_unix_connection(server.path)
        writer.write(b'{"op":"hello","kind":"st')
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await server.close()
        runner.close()
        journal.close()
    dropped = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [d["why"] for d in dropped] == ["half-open", "truncated"]
    assert server.dropped == {"half-open": 1, "truncated": 1}
