"""Sidecar mode: the sidecar runs at once, exec probes run inside its container, `stop` ends it cleanly.

The supervisor's side is played by the test itself over a real unix socket (the real supervisor has its
own tests)."""

from __future__ import annotations

import socket
from pathlib import Path

from entrypoint_helpers import finish, short_dir, wait_for, wrapper

from entrypoint import protocol


class _Side:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.file = conn.makefile("rb")

    def send(self, message: protocol.Message) -> None:
        self.conn.sendall(protocol.encode(message))

    def receive(self) -> protocol.Message:
        return protocol.decode(self.file.readline())


def test_a_sidecar_answers_probes_and_stops_on_the_supervisors_word(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    pid_file = tmp_path / "pid"
    with short_dir() as d:
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(d / "s.sock"))
        server.listen()
        server.settimeout(10)
        proc = wrapper("--name", "db", "--sidecar", "--socket", str(d / "s.sock"), "--grace-seconds", "0.5",
                       "--", "sh", "-c", f"trap '' TERM; echo $$ > {pid_file}; while :; do sleep 0.05; done")
        try:
            conn, _ = server.accept()
            side = _Side(conn)
            hello = side.receive()
            assert isinstance(hello, protocol.Hello) and (hello.kind, hello.name) == ("sidecar", "db")
            wait_for(pid_file.exists, what="the sidecar to start without waiting")
            side.send(protocol.Probe(command=("sh", "-c", f"test -e {ready}")))
            assert side.receive() == protocol.ProbeResult(ok=False, output="")
            ready.write_text("")
            side.send(protocol.Probe(command=("sh", "-c", f"echo up; test -e {ready}")))
            assert side.receive() == protocol.ProbeResult(ok=True, output="up\n")
            side.send(protocol.Probe(command=("/no/such/probe",)))
            result = side.receive()
            assert isinstance(result, protocol.ProbeResult) and not result.ok and "/no/such/probe" in result.output
            side.send(protocol.Probe(command=("sleep", "5"), timeout_seconds=0.2))
            result = side.receive()
            assert isinstance(result, protocol.ProbeResult) and "timed out" in result.output
            side.send(protocol.Stop(reason="steps done", grace_seconds=0.3))
            assert finish([proc]) == [0]  # it ignored SIGTERM: killed after the grace, still a clean stop
            conn.close()
        finally:
            server.close()
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_a_sidecar_without_a_supervisor_just_runs_its_command(tmp_path: Path) -> None:
    proc = wrapper("--name", "db", "--sidecar", "--socket", str(tmp_path / "none.sock"),
                   "--socket-wait-seconds", "0.1", "--", "sh", "-c", "exit 4")
    assert finish([proc]) == [4]
