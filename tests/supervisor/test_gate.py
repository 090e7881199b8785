"""Each container's channel speaks for that container only: the Gate's rules, in-process on real sockets.

A Runner with its real journal listens on the admin socket and one channel per step (listening.listen), as in
a Pod; the tests speak raw wire lines on those sockets, as a process in a step's container could.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from contracts import wire
from contracts.plans import Plan
from supervisor.journaling import Journal
from supervisor.listening import Listeners, channel_socket, listen
from supervisor.logs import Log
from supervisor.runner import Runner
from supervisor.states import RunState


@dataclass
class Peer:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def say(self, *messages: wire.Message | bytes) -> None:
        for m in messages:
            with contextlib.suppress(ConnectionError):  # already refused: the test reads that next
                self.writer.write(m if isinstance(m, bytes) else wire.encode(m))

    async def hear(self, timeout: float = 3.0) -> wire.Message | None:
        """The next message, or None once the supervisor closed the connection."""
        line = await asyncio.wait_for(self.reader.readline(), timeout)
        return wire.decode(line) if line else None

    def close(self) -> None:
        self.writer.close()


@dataclass
class Supervisor:
    plan: Plan
    runner: Runner
    listeners: Listeners
    log: io.StringIO
    loop_errors: list[dict[str, Any]]
    journal: Path

    async def peer(self, kind: str = "", name: str = "") -> Peer:
        path = channel_socket(self.plan.channels_dir, kind, name) if kind else self.listeners.admin.path
        return Peer(*await asyncio.open_unix_connection(path))

    async def wrapper(self, name: str) -> tuple[Peer, wire.Message | None]:
        """A step's wrapper on its own channel: its hello and the first answer (None: nothing yet)."""
        peer = await self.peer("step", name)
        peer.say(wire.Hello(kind="step", name=name))
        with contextlib.suppress(TimeoutError):
            return peer, await peer.hear(0.3)
        return peer, None

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.journal.read_text().splitlines()]

    def dropped(self) -> list[str]:
        return [json.loads(line)["why"] for line in self.log.getvalue().splitlines() if "connection_dropped" in line]


@contextlib.asynccontextmanager
async def supervising(tmp_path: Path, steps: list[str], **plan: Any) -> AsyncIterator[Supervisor]:
    """A real supervisor's listeners and Runner in-process.  Its paths are under a short directory of /tmp,
    not `tmp_path`: a socket path must fit in sun_path (107 bytes), and pytest-xdist's are longer."""
    del tmp_path  # each test names it for pytest's clean-up habits; the sockets need the short root below
    tmp_path = Path(tempfile.mkdtemp(prefix="doll-gate-", dir="/tmp"))
    p = Plan.from_dict({"steps": [{"name": n, "index": i, "container": f"step-{n}"} for i, n in enumerate(steps)],
                        "run_dir": str(tmp_path / "run"), "steps_dir": str(tmp_path / "steps"),
                        "channels_dir": str(tmp_path / "ch"), **plan})
    (tmp_path / "run").mkdir()
    stream, errors = io.StringIO(), []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    journal, _ = Journal.open(str(tmp_path / "run" / "journal.jsonl"))
    log = Log(stream)
    runner = Runner(p, RunState.from_plan(p), journal, log)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(journal.close)
        listeners = await listen(p, runner, log, stack, hello_timeout=0.5)
        stack.callback(runner.close)
        runner.begin()
        yield Supervisor(p, runner, listeners, stream, errors, tmp_path / "run" / "journal.jsonl")
    loop.set_exception_handler(None)
    shutil.rmtree(tmp_path, ignore_errors=True)


async def _until(predicate: Any, what: str, timeout: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_hello_as_another_step_on_a_steps_own_channel_is_refused(tmp_path: Path) -> None:
    """Replays `evil` saying hello as `last`, then `finished` with forged results, from its own container."""
    async with supervising(tmp_path, ["evil", "last"]) as sup:
        evil, _ = await sup.wrapper("evil")
        forger = await sup.peer("step", "evil")
        forger.say(wire.Hello(kind="step", name="last"),
                   wire.Finished(name="last", exit_code=0, reason="Completed", started_at=1.0, finished_at=2.0,
                                 results={"tr": "FORGED"}))
        assert await forger.hear() is None  # refused
        last, answer = await sup.wrapper("last")
        assert answer is None  # the real `last` is connected and waits for its turn
        assert sup.dropped() == ["impostor"]
        assert not [e for e in sup.events() if e["ev"] == "finished"]


async def test_a_second_hello_while_the_wrappers_connection_is_open_is_refused_and_its_reconnect_is_answered(
        tmp_path: Path) -> None:
    """Replays the hijack: one hello as `b` (then hanging up) left b's real wrapper without its `start`.  A
    wrapper reconnecting before the supervisor saw its old connection end is refused once, and heard on its
    next try (it retries within reconnect_seconds)."""
    async with supervising(tmp_path, ["a", "b"]) as sup:
        a, start = await sup.wrapper("a")
        assert isinstance(start, wire.Start)
        b, _ = await sup.wrapper("b")
        second = await sup.peer("step", "b")
        second.say(wire.Hello(kind="step", name="b"))
        assert await second.hear() is None  # refused: b's wrapper is connected
        a.say(wire.Finished(name="a", exit_code=0, reason="Completed", started_at=1.0, finished_at=2.0))
        assert isinstance(await b.hear(), wire.Start)  # the real wrapper still gets its start
        b.close()  # b's wrapper reconnects at once: the supervisor may hear the hello before the EOF
        for _ in range(20):
            again, answer = await sup.wrapper("b")
            if answer is not None:
                break
            again.close()
        assert isinstance(answer, wire.Start)  # answered from the state: it runs, carry on


async def test_started_counts_only_for_a_released_step_and_finished_before_release_only_as_a_failure(
        tmp_path: Path) -> None:
    """Replays `{"op":"started"}` for a pending step, `finished` naming another step, and `finished` with
    success and forged results for a step never released."""
    async with supervising(tmp_path, ["a", "b"]) as sup:
        a, _ = await sup.wrapper("a")
        b, _ = await sup.wrapper("b")
        b.say(wire.Started(name="b", started_at=1.0))
        b.say(wire.Finished(name="a", exit_code=0, reason="Completed", started_at=1.0, finished_at=2.0))
        b.say(wire.Finished(name="b", exit_code=0, reason="Completed", started_at=1.0, finished_at=2.0,
                            results={"tr": "FORGED"}))
        await _until(lambda: any(e["ev"] == "finished" for e in sup.events()), "b's report")
        assert not [e for e in sup.events() if e["ev"] == "started"]
        [finished] = [e for e in sup.events() if e["ev"] == "finished"]
        assert (finished["step"], finished["outcome"], finished["results"]) == ("b", "failed", {})
        assert finished["exit_code"] == 1 and "before it was released" in finished["message"]
        assert sorted(sup.dropped()) == ["impostor", "out-of-turn"]


async def test_ctl_from_a_steps_channel_decides_only_its_own_hold_and_sees_only_itself(tmp_path: Path) -> None:
    """Replays `{"op":"ctl","action":"continue"}` from any peer turning a step held on failure into success,
    a cancel from a step, and a status that showed every step's results."""
    async with supervising(tmp_path, ["a", "b"], breakpoint_on_failure=True) as sup:
        a, _ = await sup.wrapper("a")
        b, _ = await sup.wrapper("b")
        a.say(wire.Finished(name="a", exit_code=3, reason="Error", started_at=1.0, finished_at=2.0,
                            results={"secret": "s3cr3t"}))
        assert isinstance(await a.hear(), wire.Hold)
        ctl = await sup.peer("step", "b")
        for request in (wire.Ctl(action="continue", step="a"), wire.Ctl(action="continue"),
                        wire.Ctl(action="cancel")):
            ctl.say(request)
            reply = await ctl.hear()
            assert isinstance(reply, wire.Reply) and not reply.ok, reply
        ctl.say(wire.Ctl(action="status"))
        status = await ctl.hear()
        assert isinstance(status, wire.Reply) and "s3cr3t" not in json.dumps(status.status)
        assert [s["name"] for s in status.status["steps"]] == ["b"] and status.status["hold"] is None
        own = await sup.peer("step", "a")
        own.say(wire.Ctl(action="fail-continue"))
        reply = await own.hear()
        assert isinstance(reply, wire.Reply) and reply.ok, reply
        assert [e["outcome"] for e in sup.events() if e["ev"] == "finished"] == ["failed"]  # a, as it failed


async def test_a_flood_of_connections_is_bounded_idle_ones_time_out_and_the_log_stays_short(tmp_path: Path) -> None:
    """Replays 1,100 idle `{"op":"hello","kind":"ctl"}` connections (bounded here to 200, loopback only): at
    most 4 stay open on a channel, idle ones are closed after the hello timeout, a few log lines in all; then
    a nesting bomb is dropped and counted as garbage."""
    async with supervising(tmp_path, ["a"]) as sup:
        peers = [await sup.peer("step", "a") for _ in range(200)]
        for p in peers:
            p.say(wire.Hello(kind="ctl", name="x"))
        closed = [p for p in peers if await _closed_soon(p, 0.2)]
        assert len(peers) - len(closed) <= 4
        await asyncio.sleep(0.6)  # the hello timeout: idle ctl peers are closed too
        assert all([await _closed_soon(p, 0.5) for p in peers])
        bomb = await sup.peer("step", "a")
        bomb.say(b"[" * 100_000 + b"]" * 100_000 + b"\n")
        assert await bomb.hear() is None
        wrapper, start = await sup.wrapper("a")
        assert isinstance(start, wire.Start)  # the run goes on
        assert sup.listeners.drops.counts["too-many"] >= 190 and sup.listeners.drops.counts["garbage"] == 1
        assert len(sup.dropped()) <= 4, sup.dropped()  # too-many, idle, garbage: once each
        for p in [*peers, bomb]:
            p.close()


async def _closed_soon(peer: Peer, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(peer.reader.read(1), seconds) == b""
    except ConnectionError:  # it was closed before our hello went out
        return True
    except TimeoutError:
        return False


async def test_connections_still_open_at_exit_close_quietly(tmp_path: Path) -> None:
    """Replays a connection open at exit logging a CancelledError traceback each."""
    async with supervising(tmp_path, ["a", "b"]) as sup:
        open_ones = [await sup.wrapper("a"), await sup.wrapper("b")]
        idle = await sup.peer()
        idle.say(wire.Hello(kind="ctl", name="x"))
        await asyncio.sleep(0.05)
        errors = sup.loop_errors
    await asyncio.sleep(0.05)
    assert errors == []
    for peer, _ in open_ones:
        assert await peer.reader.read() == b""


@pytest.mark.parametrize("kind", ["step", "sidecar"])
def test_a_channel_socket_is_open_to_any_uid_and_the_admin_socket_is_not(tmp_path: Path, kind: str) -> None:
    """Replays `--socket: Permission denied` for a step running as a uid other than 0 or 65532."""
    import os
    import stat

    async def check() -> None:
        async with supervising(tmp_path, ["a"], sidecars=[{"name": "a", "container": "sidecar-a"}]) as sup:
            mode = stat.S_IMODE(os.stat(channel_socket(sup.plan.channels_dir, kind, "a")).st_mode)
            assert mode == 0o666
            assert stat.S_IMODE(os.stat(sup.listeners.admin.path).st_mode) == 0o660
    asyncio.run(check())


async def test_without_channels_the_admin_socket_takes_every_wrapper(tmp_path: Path) -> None:
    """One host, no channels (tests, benchmarks): 100 wrappers on the admin socket are not a flood."""
    async with supervising(tmp_path, [f"s{i}" for i in range(100)], channels_dir="") as sup:
        peers = [await sup.peer() for _ in range(100)]
        for i, p in enumerate(peers):
            p.say(wire.Hello(kind="step", name=f"s{i}"))
        assert isinstance(await peers[0].hear(), wire.Start)
        await _until(lambda: len(sup.runner.steps) == 100, "every wrapper connected")
        assert "too-many" not in sup.listeners.drops.counts
        for p in peers:
            p.close()


async def test_an_accept_that_fails_for_lack_of_descriptors_is_logged_once_without_a_traceback(
        tmp_path: Path) -> None:
    """Replays EMFILE at accept: asyncio reported it with a traceback every time it retried (once a second
    per listener); the supervisor's loop handler now counts it and logs one line."""
    async with supervising(tmp_path, ["a"]) as sup:
        context = {"message": "socket.accept() out of system resource", "exception": OSError(24, "Too many open files")}
        log = Log(sup.log)
        assert all(sup.listeners.on_loop_error(context, log) for _ in range(50))
        assert not sup.listeners.on_loop_error({"message": "something else"}, log)
        lines = [json.loads(line) for line in sup.log.getvalue().splitlines()]
        assert [line["event"] for line in lines if line["event"] == "accept_failing"] == ["accept_failing"]
        assert "Traceback" not in sup.log.getvalue()
        assert sup.listeners.drops.counts["accept-failed"] == 50
