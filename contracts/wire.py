"""The wire protocol between step wrappers, the supervisor and `doll ctl`: defined here, once.

Newline-delimited JSON over a unix stream socket: each step's and sidecar's own channel (layout.CHANNEL_SOCKET),
or the supervisor's admin socket (layout.SOCKET_PATH).  Every message is one
JSON object on one line with an ``"op"`` field.  Standard library only: the wrapper imports this module.

Conversation of a step wrapper::

    wrapper -> supervisor   {"op": "hello", "kind": "step", "name": "build", "index": 1, "pid": 7}
    supervisor -> wrapper   {"op": "start"} | {"op": "skip", "reason": "..."} | {"op": "hold", "reason": "..."}
    wrapper -> supervisor   {"op": "started", "name": "build", "started_at": 1700000000.123}
    wrapper -> supervisor   {"op": "finished", "name": "build", "exit_code": 0, "reason": "Completed", ...}
    supervisor -> wrapper   {"op": "ack"} | {"op": "hold", "reason": "onFailure"}   (then later "ack")
    after a hold the supervisor may say {"op": "ack", "verdict": "succeeded" | "failed"} (debug continue /
    fail-continue); after a beforeStep hold: "start", "skip", or an ack with verdict "failed" (not run)
    supervisor -> wrapper   {"op": "stop", "reason": "..."}   (cancel: stop the child now)

A sidecar wrapper says hello with ``"kind": "sidecar"``, answers ``probe`` with ``probe_result`` and
stops its sidecar on ``stop``.  Announcing again after a reconnect is harmless: the supervisor answers the
new hello from its state (a hello while the old connection is still open is refused).  ``ctl`` requests
come from `doll ctl` and `entrypoint debug` and are answered with one ``reply``.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds of every
    from dataclasses import dataclass, field  # wrapper start (annotations are strings; see freezing)
    from typing import Any, Literal
else:
    from contracts.freezing import dataclass, field

from contracts.errors import InputError


# --- reasons, as Tekton spells them ---
if TYPE_CHECKING:
    Reason = Literal["Completed", "Error", "Skipped", "TimeoutExceeded", "Cancelled"]
REASONS: tuple[str, ...] = ("Completed", "Error", "Skipped", "TimeoutExceeded", "Cancelled")

# --- limits ---
MAX_MESSAGE_BYTES = 1 << 20  # one line; longer lines are dropped by the reader

if TYPE_CHECKING:
    Kind = Literal["step", "sidecar", "ctl"]
    # terminating: a step's wrapper about its own container, which got SIGTERM from outside (the Pod is deleted)
    CtlAction = Literal["status", "continue", "fail", "fail-continue", "cancel", "terminating"]
else:
    def __getattr__(name: str) -> object:
        """The Literal aliases, built (importing typing) only when something asks for them at run time."""
        values = _ALIASES.get(name)
        if values is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from typing import Literal
        alias = Literal[values]
        globals()[name] = alias
        return alias

    _ALIASES = {"Reason": REASONS, "Kind": ("step", "sidecar", "ctl"),
                "CtlAction": ("status", "continue", "fail", "fail-continue", "cancel", "terminating")}

__all__ = ["REASONS", "MAX_MESSAGE_BYTES", "Hello", "Start", "Skip", "Hold", "Started", "Finished", "Ack",
           "Stop", "Probe", "ProbeResult", "Ctl", "Reply", "Message", "ProtocolError", "encode", "decode"]


@dataclass(frozen=True)
class Hello:
    """A wrapper (step or sidecar) or `doll ctl` announcing itself; may be repeated after a reconnect."""

    kind: Kind
    name: str
    index: int = -1
    pid: int = 0
    op: Literal["hello"] = "hello"


@dataclass(frozen=True)
class Start:
    """Supervisor -> step: run now."""

    op: Literal["start"] = "start"


@dataclass(frozen=True)
class Skip:
    """Supervisor -> step: do not run (an earlier step failed, or the run was cancelled)."""

    reason: str = ""
    cancelled: bool = False  # True: skipped because the run was cancelled, not because a step failed
    op: Literal["skip"] = "skip"


@dataclass(frozen=True)
class Hold:
    """Supervisor -> step: wait at a breakpoint until `debug continue | fail-continue`."""

    reason: str = ""  # "beforeStep" or "onFailure"
    op: Literal["hold"] = "hold"


@dataclass(frozen=True)
class Started:
    """Step -> supervisor: the child was exec'd at `started_at`."""

    name: str
    started_at: float  # unix time, seconds
    op: Literal["started"] = "started"


@dataclass(frozen=True)
class Finished:
    """Step -> supervisor: how the step ended, with its results in full."""

    name: str
    exit_code: int
    reason: str
    started_at: float | None
    finished_at: float
    results: dict[str, str] = field(default_factory=dict)
    message: str = ""
    op: Literal["finished"] = "finished"


@dataclass(frozen=True)
class Ack:
    """Supervisor -> step: the outcome is recorded; the wrapper may exit."""

    # "" keeps the wrapper's own outcome; after a hold, `debug continue` -> "succeeded" (the step is recorded
    # as succeeded, exit 0) and `debug fail-continue` -> "failed" (recorded as failed; before the step: not run)
    verdict: str = ""
    op: Literal["ack"] = "ack"


@dataclass(frozen=True)
class Stop:
    """Supervisor -> wrapper: stop the child (SIGTERM, grace, SIGKILL of its group)."""

    reason: str = ""
    grace_seconds: float = 30.0
    op: Literal["stop"] = "stop"


@dataclass(frozen=True)
class Probe:
    """Supervisor -> sidecar wrapper: run this exec probe inside the sidecar's container."""

    command: tuple[str, ...]
    timeout_seconds: float = 1.0
    op: Literal["probe"] = "probe"


@dataclass(frozen=True)
class ProbeResult:
    """Sidecar wrapper -> supervisor: the exec probe's outcome."""

    ok: bool
    output: str = ""
    op: Literal["probe_result"] = "probe_result"


@dataclass(frozen=True)
class Ctl:
    """`doll ctl` / `entrypoint debug` -> supervisor: a control request."""

    action: str  # one of CtlAction
    step: str = ""
    op: Literal["ctl"] = "ctl"


@dataclass(frozen=True)
class Reply:
    """Supervisor -> ctl client: the answer to one `ctl` request."""

    ok: bool
    message: str = ""
    status: dict[str, Any] = field(default_factory=dict)
    op: Literal["reply"] = "reply"


Message = Hello | Start | Skip | Hold | Started | Finished | Ack | Stop | Probe | ProbeResult | Ctl | Reply

_TYPES: dict[str, type] = {
    cls.op: cls
    for cls in (Hello, Start, Skip, Hold, Started, Finished, Ack, Stop, Probe, ProbeResult, Ctl, Reply)
}


class ProtocolError(InputError, ValueError):
    """A line that is not a valid message; the reader drops it and logs this text."""


def encode(message: Message) -> bytes:
    """One message as one line of JSON, newline included."""
    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in message.__dict__.items()}
    return json.dumps(data, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Message:
    """Parse one line; raise ProtocolError naming what is wrong."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(line)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:  # a nesting bomb: [[[[...
        raise ProtocolError("not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError("not a JSON object")
    op = data.get("op")
    cls = _TYPES.get(op) if isinstance(op, str) else None
    if cls is None:
        raise ProtocolError(f"op: unknown {op!r}")
    fields = {k: v for k, v in data.items() if k != "op"}
    try:
        if cls is Probe and "command" in fields:
            fields["command"] = tuple(str(part) for part in fields["command"])
        message: Message = cls(**fields)
    except TypeError as exc:
        raise ProtocolError(f"{op}: {exc}") from None
    _check_types(message)
    return message


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,), "kind": (str,), "index": (int,), "pid": (int,), "reason": (str,), "cancelled": (bool,),
    "started_at": (int, float, type(None)), "finished_at": (int, float), "exit_code": (int,),
    "results": (dict,), "message": (str,), "grace_seconds": (int, float), "timeout_seconds": (int, float),
    "ok": (bool,), "output": (str,), "action": (str,), "step": (str,), "status": (dict,), "command": (tuple,),
    "verdict": (str,),
}


# the range of every number on the wire, ends included: finite (json.loads reads NaN and Infinity) and bounded
# (a 401-digit integer is valid JSON); times are unix seconds before the year 5000, as contracts/records has it
_RANGES: dict[str, tuple[float, float]] = {
    "index": (-1, (1 << 31) - 1), "pid": (0, (1 << 31) - 1), "exit_code": (-(1 << 31), (1 << 31) - 1),
    "started_at": (0, 1e11), "finished_at": (0, 1e11), "grace_seconds": (0, 1e9), "timeout_seconds": (0, 1e9),
}


def _check_types(message: Message) -> None:
    for key, value in message.__dict__.items():
        allowed = _FIELD_TYPES.get(key)
        if allowed and not isinstance(value, allowed):
            raise ProtocolError(f"{message.op}.{key}: expected {allowed[0].__name__}, got {_short(value)}")
        if key in _RANGES and value is not None:
            low, high = _RANGES[key]
            if isinstance(value, bool) or not low <= value <= high:  # False for NaN; int vs float is exact
                raise ProtocolError(f"{message.op}.{key}: expected a number in [{low:g}, {high:g}], "
                                    f"got {_short(value)}")
    if isinstance(message, Hello) and message.kind not in ("step", "sidecar", "ctl"):
        raise ProtocolError(f"hello.kind: unknown {message.kind!r}")
    if isinstance(message, Finished):
        if message.reason not in REASONS:
            raise ProtocolError(f"finished.reason: unknown {message.reason!r}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in message.results.items()):
            raise ProtocolError("finished.results: expected an object of strings")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
