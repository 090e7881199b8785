"""The wire protocol's decode: every message is checked before anyone acts on it."""

from __future__ import annotations

import pytest

from contracts import wire


@pytest.mark.parametrize("line", [
    b'{"op":"started","name":"a","started_at":' + b"9" * 401 + b"}",
    b'{"op":"started","name":"a","started_at":NaN}',
    b'{"op":"started","name":"a","started_at":Infinity}',
    b'{"op":"started","name":"a","started_at":-1}',
    b'{"op":"started","name":"a","started_at":true}',
    b'{"op":"finished","name":"a","exit_code":0,"reason":"Completed","started_at":1,"finished_at":-Infinity}',
    b'{"op":"finished","name":"a","exit_code":' + b"1" * 40 + b',"reason":"Error","started_at":1,"finished_at":2}',
    b'{"op":"finished","name":"a","exit_code":true,"reason":"Error","started_at":1,"finished_at":2}',
    b'{"op":"hello","kind":"step","name":"a","index":' + b"7" * 30 + b"}",
    b'{"op":"hello","kind":"step","name":"a","pid":-5}',
    b'{"op":"stop","grace_seconds":NaN}',
    b'{"op":"probe","command":["true"],"timeout_seconds":1e400}',
])
def test_a_number_that_is_not_finite_or_out_of_range_is_refused_by_decode(line: bytes) -> None:
    """JSON has no NaN or Infinity (RFC 8259 section 6), though Python's json reads them; Tekton's Go side
    (encoding/json) refuses them, and a time or an exit code has a range (pkg/pod/status.go
    extractExitCodeFromResults parses an exit code as a 32-bit integer)."""
    with pytest.raises(wire.ProtocolError, match=r"expected"):
        wire.decode(line)


def test_ordinary_numbers_still_decode() -> None:
    message = wire.decode(b'{"op":"finished","name":"a","exit_code":-1,"reason":"Error","started_at":null,'
                          b'"finished_at":1700000000.5}')
    assert isinstance(message, wire.Finished) and message.finished_at == 1700000000.5
    assert wire.decode(b'{"op":"hello","kind":"step","name":"a","index":-1,"pid":0}') == \
        wire.Hello(kind="step", name="a")
