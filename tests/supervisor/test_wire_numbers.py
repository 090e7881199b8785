"""Numbers a step sends through the socket cannot reach the journal, /status or /metrics unchecked."""

from __future__ import annotations

import json
import socket

from contracts import wire
from supervisor_rig import Pod, wait_for


def _say(path: str, *lines: bytes) -> None:
    """One connection: hello as step a, then `lines`; read until the supervisor hangs up or goes quiet."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(path)
        s.sendall(wire.encode(wire.Hello(kind="step", name="a", index=0)) + b"".join(line + b"\n" for line in lines))
        try:
            while s.recv(65536):
                pass
        except (TimeoutError, ConnectionResetError):
            pass


def _strict_json(text: str) -> object:
    def refuse(constant: str) -> object:
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_nan_infinity_and_a_401_digit_time_through_the_socket_are_dropped_and_status_stays_valid_json(
        pod: Pod) -> None:
    """RFC 8259 section 6 (no NaN or Infinity in JSON): what /status answers must parse anywhere, Go's
    encoding/json included (Tekton's tools read JSON with it)."""
    pod.plan(["a", "b"])
    pod.supervise()
    pod.wait_socket()
    for bad in (b"NaN", b"Infinity", b"9" * 401):
        _say(pod.socket, b'{"op":"started","name":"a","started_at":%s}' % bad,
             b'{"op":"finished","name":"a","exit_code":0,"reason":"Completed","started_at":%s,"finished_at":%s}'
             % (bad, bad))
    wait_for(lambda: any(r["ev"] == "announced" for r in pod.journal()), what="a's hello")
    assert not any(r["ev"] in ("started", "finished") for r in pod.journal())
    code, body = pod.http("/status")
    assert code == 200 and _strict_json(body)
    code, metrics = pod.http("/metrics")
    assert code == 200 and "NaN" not in metrics and "Inf" not in metrics.replace("+Inf", "")
    assert pod.ctl("cancel").returncode == 0
    pod.finish(timeout=20)
