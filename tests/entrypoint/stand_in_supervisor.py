"""A minimal supervisor for the wrapper's tests; it stands in for the real one (supervisor/, tested there).

Run as a separate process (so a test can SIGKILL it mid-run):

    python stand_in_supervisor.py SOCKET EVENTS STEPS... [--hold NAME] [--stop NAME] [--continue NAME]
                                  [--steps-dir DIR]

It starts the steps in order, skips the rest after a failure (unless the step is listed with --continue),
holds NAME before it starts (until a `ctl continue | fail-continue`), stops NAME 0.3 s after it started,
and appends every message it gets, one JSON object a line, to EVENTS (with --steps-dir, a `finished`
event also says what `DIR/step-NAME/exitCode` held at the moment the message arrived).
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from contracts import exits, layout, wire  # noqa: E402


def main(argv: list[str]) -> int:
    path, events_path, *rest = argv
    steps: list[str] = []
    hold, stop, tolerate = set(), set(), set()
    steps_dir = ""
    it = iter(rest)
    for arg in it:
        if arg == "--hold":
            hold.add(next(it))
        elif arg == "--stop":
            stop.add(next(it))
        elif arg == "--continue":
            tolerate.add(next(it))
        elif arg == "--steps-dir":
            steps_dir = next(it)
        else:
            steps.append(arg)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path + ".tmp")
    server.listen(64)
    os.rename(path + ".tmp", path)  # appears only once it listens
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    conns: dict[str, socket.socket] = {}  # step name -> its connection
    buffers: dict[socket.socket, bytes] = {}
    state = {"next": 0, "failed": False, "held": ""}
    events = open(events_path, "a", buffering=1)

    def send(name: str, message: wire.Message) -> None:
        conn = conns.get(name)
        if conn is not None:
            try:
                conn.sendall(wire.encode(message))
            except OSError:
                pass

    def advance() -> None:
        while state["next"] < len(steps):
            name = steps[state["next"]]
            if name not in conns or state["held"] == name:
                return
            if state["failed"]:
                send(name, wire.Skip(reason="an earlier step failed"))
                state["next"] += 1
                continue
            if name in hold:
                hold.discard(name)
                state["held"] = name
                send(name, wire.Hold(reason="beforeStep"))
                return
            send(name, wire.Start())
            return

    def handle(conn: socket.socket, message: wire.Message) -> None:
        event = dict(message.__dict__)
        if steps_dir and isinstance(message, wire.Finished):
            exit_code_file = Path(steps_dir) / f"step-{message.name}" / "exitCode"
            event["exit_code_on_disk"] = exit_code_file.read_text() if exit_code_file.exists() else None
        events.write(json.dumps(event, default=list) + "\n")
        if isinstance(message, wire.Hello):
            conns[message.name] = conn
            advance()
        elif isinstance(message, wire.Started) and message.name in stop:
            timers.append((time.monotonic() + 0.3, message.name))
        elif isinstance(message, wire.Finished):
            if message.exit_code != 0 and message.name not in tolerate:
                state["failed"] = True
            send(message.name, wire.Ack())
            state["next"] = steps.index(message.name) + 1
            advance()
        elif isinstance(message, wire.Ctl):
            name = state["held"]
            if message.action == "status":
                reply = wire.Reply(ok=True, status={"held": name, "next": state["next"]})
            elif name and message.action in ("continue", "fail-continue"):
                state["held"] = ""
                if message.action == "continue":
                    send(name, wire.Start())
                else:
                    send(name, wire.Ack(verdict="failed"))
                    state["failed"] = True
                    state["next"] += 1
                    advance()
                reply = wire.Reply(ok=True, message=f"{name}: {message.action}")
            else:
                reply = wire.Reply(ok=False, message="nothing is held")
            conn.sendall(wire.encode(reply))

    timers: list[tuple[float, str]] = []  # (when, step) to stop
    while True:
        for when, name in [t for t in timers if t[0] <= time.monotonic()]:
            timers.remove((when, name))
            send(name, wire.Stop(reason="cancelled by the test", grace_seconds=0.5))
        wait = max(0.0, min(t[0] for t in timers) - time.monotonic()) if timers else None
        for key, _ in sel.select(wait):
            if key.fileobj is server:
                conn, _ = server.accept()
                buffers[conn] = b""
                sel.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            data = conn.recv(65536)
            if not data:
                sel.unregister(conn)
                conn.close()
                continue
            buffers[conn] += data
            while b"\n" in buffers[conn]:
                line, buffers[conn] = buffers[conn].split(b"\n", 1)
                handle(conn, wire.decode(line))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
