"""Sidecar mode: the sidecar runs at once, exec probes run inside its container, `stop` ends it cleanly.

The supervisor's side is played by the test itself over a real unix socket (the real supervisor has its
own tests)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from entrypoint_helpers import finish, short_dir, wait_for, wrapper

from contracts import exits, wire


class _Side:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.file = conn.makefile("rb")

    def send(self, message: wire.Message) -> None:
        self.conn.sendall(wire.encode(message))

    def receive(self) -> wire.Message:
        return wire.decode(self.file.readline())

    def close(self) -> None:
        self.file.close()
        self.conn.close()


@contextlib.contextmanager
def _supervised(*args: str) -> Iterator[tuple[socket.socket, subprocess.Popen[bytes]]]:
    """A listening socket that the test answers as the supervisor, and a wrapper started on it with `args`;
    both gone afterwards (the wrapper killed if it is still running)."""
    with short_dir() as d:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(d / "s.sock"))
        server.listen()
        server.settimeout(10)
        proc = wrapper("--socket", str(d / "s.sock"), *args)
        try:
            yield server, proc
        finally:
            server.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_sidecar_answers_probes_and_stops_on_the_supervisors_word(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    pid_file = tmp_path / "pid"
    script = f"trap '' TERM; echo $$ > {pid_file}; while :; do sleep 0.05; done"
    with _supervised("--name", "db", "--sidecar", "--grace-seconds", "0.5", "--", "sh", "-c", script) as (server, proc):
        conn, _ = server.accept()
        side = _Side(conn)
        hello = side.receive()
        assert isinstance(hello, wire.Hello) and (hello.kind, hello.name) == ("sidecar", "db")
        wait_for(pid_file.exists, what="the sidecar to start without waiting")
        side.send(wire.Probe(command=("sh", "-c", f"test -e {ready}")))
        assert side.receive() == wire.ProbeResult(ok=False, output="")
        ready.write_text("")
        side.send(wire.Probe(command=("sh", "-c", f"echo up; test -e {ready}")))
        assert side.receive() == wire.ProbeResult(ok=True, output="up\n")
        side.send(wire.Probe(command=("/no/such/probe",)))
        result = side.receive()
        assert isinstance(result, wire.ProbeResult) and not result.ok and "/no/such/probe" in result.output
        side.send(wire.Probe(command=("sleep", "5"), timeout_seconds=0.2))
        result = side.receive()
        assert isinstance(result, wire.ProbeResult) and "timed out" in result.output
        side.send(wire.Stop(reason="steps done", grace_seconds=0.3))
        assert finish([proc]) == [0]  # it ignored SIGTERM: killed after the grace, still a clean stop
        conn.close()


def test_a_sidecar_without_a_supervisor_just_runs_its_command(tmp_path: Path) -> None:
    proc = wrapper("--name", "db", "--sidecar", "--socket", str(tmp_path / "none.sock"),
                   "--socket-wait-seconds", "0.1", "--", "sh", "-c", "exit 4")
    assert finish([proc]) == [4]


def test_a_sidecar_reconnects_and_announces_itself_again_after_the_supervisor_went_away(tmp_path: Path) -> None:
    with _supervised("--name", "db", "--sidecar", "--grace-seconds", "0.5",
                     "--", "sh", "-c", "while :; do sleep 0.05; done") as (server, proc):
        conn, _ = server.accept()
        first = _Side(conn)
        assert isinstance(first.receive(), wire.Hello)
        first.close()  # the supervisor's connection is gone (a restart keeps the listening socket here)
        conn, _ = server.accept()
        side = _Side(conn)
        hello = side.receive()
        assert isinstance(hello, wire.Hello) and (hello.kind, hello.name) == ("sidecar", "db")
        side.send(wire.Probe(command=("true",)))
        assert side.receive() == wire.ProbeResult(ok=True, output="")
        side.send(wire.Stop(reason="done", grace_seconds=0.5))
        assert finish([proc]) == [0]
        conn.close()


def test_a_running_step_reconnects_so_a_restarted_supervisor_can_still_stop_it(tmp_path: Path) -> None:
    """The supervisor's side is played by the test: it starts the step, drops the connection, and stops
    the step on the wrapper's second hello."""
    with _supervised("--name", "s", "--grace-seconds", "0.5",
                     "--", "sh", "-c", "while :; do sleep 0.05; done") as (server, proc):
        conn, _ = server.accept()
        side = _Side(conn)
        assert isinstance(side.receive(), wire.Hello)
        side.send(wire.Start())
        assert isinstance(side.receive(), wire.Started)
        side.close()
        conn, _ = server.accept()
        side = _Side(conn)
        assert isinstance(side.receive(), wire.Hello)
        side.send(wire.Start())  # answered from its state: the step is running
        side.send(wire.Stop(reason="cancelled", grace_seconds=0.5))
        finished = side.receive()
        assert isinstance(finished, wire.Finished) and finished.reason == "Cancelled"
        side.send(wire.Ack())
        assert finish([proc]) == [exits.EXIT_CANCELLED]
        conn.close()
