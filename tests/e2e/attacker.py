"""A step's script that replays, from inside its own container, every attack on the supervisor's sockets that
worked when all containers shared one control socket; each line it prints says what came back.

It runs in the doll image (which has python3) as an ordinary user step of `doll run`; its source is read by
tests/e2e/test_e2e_channels.py and placed in the Task as the step's script.
"""

import json
import os
import socket
import time

__all__: list[str] = []

CHANNEL = "/doll/channel/control.sock"


def talk(*lines, wait=2.0):
    """Send raw lines on a new connection to our channel; what came back before the supervisor closed it."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(wait)
    s.connect(CHANNEL)
    got = b""
    try:
        for line in lines:
            s.sendall(line if isinstance(line, bytes) else json.dumps(line).encode() + b"\n")
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got.decode() or "closed"
            got += chunk
            if got.endswith(b"\n") and b'"reply"' in got:
                return got.decode().strip()
    except (TimeoutError, socket.timeout):
        return got.decode().strip() or "open"
    except OSError as exc:
        return got.decode().strip() or f"error {exc.errno}"
    finally:
        s.close()


def flood(n=1100, hold=2.0):
    """Open n connections to our channel and see how many the supervisor kept open."""
    socks, refused = [], 0
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(CHANNEL)
            socks.append(s)
        except OSError:
            s.close()
            refused += 1
        if len(socks) > 900:  # our own open-file limit is 1024
            break
    time.sleep(hold)
    kept = 0
    for s in socks:
        s.setblocking(False)
        try:
            kept += s.recv(1) != b""
        except BlockingIOError:
            kept += 1  # still open: nothing to read, no EOF
        except OSError:
            pass
        s.close()
    return f"{kept} kept of {len(socks) + refused}"


FINISHED = {"op": "finished", "name": "last", "exit_code": 0, "reason": "Completed", "started_at": 1.0,
            "finished_at": 2.0, "results": {"tr": "FORGED"}}
print("admin socket visible:", os.path.exists("/doll/run/control.sock"), flush=True)
print("hello as last:", talk({"op": "hello", "kind": "step", "name": "last"}), flush=True)
print("hello as evil again:", talk({"op": "hello", "kind": "step", "name": "evil"}), flush=True)
print("finished for last, no hello:", talk(FINISHED), flush=True)
print("ctl continue last:", talk({"op": "ctl", "action": "continue", "step": "last"}), flush=True)
print("ctl cancel:", talk({"op": "ctl", "action": "cancel"}), flush=True)
status = json.loads(talk({"op": "ctl", "action": "status"}))["status"]
print("status shows steps:", [s["name"] for s in status["steps"]], flush=True)
print("nesting bomb:", talk(b"[" * 100000 + b"]" * 100000 + b"\n"), flush=True)
print("flood:", flood(), flush=True)
print("after the flood, status:", json.loads(talk({"op": "ctl", "action": "status"}))["ok"], flush=True)
