"""A wrapper whose hello is refused (the supervisor still holds its old connection) says hello again."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from contracts import wire
from entrypoint.session import Session, Verdict


def _refuse_once_then_start(server: socket.socket, hellos: list[bytes]) -> None:
    for answer in (None, wire.Start()):
        conn, _ = server.accept()
        with conn:
            hellos.append(conn.makefile("rb").readline())
            if answer is not None:
                conn.sendall(wire.encode(answer))
                conn.recv(1)  # until the wrapper hangs up


def test_a_wrapper_whose_hello_is_refused_reconnects_within_reconnect_seconds_and_gets_its_turn(
        tmp_path: Path) -> None:
    """The supervisor refuses a hello for a step whose connection is still open; the wrapper's own reconnect
    can beat its old connection's end, so the refusal must cost it only another try."""
    path = str(tmp_path / "control.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(4)
    hellos: list[bytes] = []
    thread = threading.Thread(target=_refuse_once_then_start, args=(server, hellos), daemon=True)
    thread.start()
    session = Session(path, "step", "a", 0, wait_seconds=1.0, reconnect_seconds=2.0)
    try:
        assert session.open()
        assert session.wait_turn() == Verdict("start")
    finally:
        session.close()
        thread.join(5)
        server.close()
    assert [wire.decode(h) for h in hellos] == [session.hello(), session.hello()]
