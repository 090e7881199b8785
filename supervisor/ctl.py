"""`doll ctl status | continue STEP | fail STEP | cancel [--socket PATH] [--json]`.

Talks to the supervisor over its control socket (run it with `kubectl exec POD -c doll-supervisor --`).
Exit codes: 0 done, 1 the supervisor said no (e.g. the step is not held), 2 bad command line,
3 no supervisor answered at the socket.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any

from contracts import wire
from contracts.channel import Channel
from contracts.parsing import Parser
from contracts.errors import UsageError
from contracts import layout

__all__ = ["ask", "EXIT_OK", "EXIT_REFUSED", "EXIT_UNREACHABLE", "EXIT_USAGE", "main", "render", "REPLY_SECONDS"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
REPLY_SECONDS = 10.0


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="doll ctl", description="talk to a running doll supervisor")
    p.add_argument("--socket", default=layout.SOCKET_PATH, help="the control socket (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the supervisor's answer as JSON")
    common = Parser(add_help=False)  # the same flags are accepted after the action too
    common.add_argument("--socket", default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    sub.add_parser("status", parents=[common], help="the run: steps, sidecars, holds")
    for action, text in (("continue", "let a held step go on (a held failure counts as success)"),
                         ("fail", "mark a held step failed and skip the rest")):
        sub.add_parser(action, parents=[common], help=text).add_argument("step", help="the held step's name")
    sub.add_parser("cancel", parents=[common], help="stop the running step and skip the rest")
    return p


def ask(path: str, ctl: wire.Ctl, timeout: float = REPLY_SECONDS) -> wire.Reply:
    """One request, one reply; OSError when nobody answers."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    channel = Channel(sock, path, who="doll ctl")
    try:
        sock.settimeout(timeout)
        sock.connect(path)
        if not channel.send(ctl):
            raise ConnectionError("the supervisor closed the connection")
        reply = channel.receive(timeout)
    finally:
        channel.close()
    if reply is None:
        raise ConnectionError(f"no answer within {timeout:g}s, or the connection was closed")
    if not isinstance(reply, wire.Reply):
        raise ConnectionError(f"the supervisor answered {reply.op!r}, not a reply")
    return reply


def _fmt_time(start: Any, end: Any) -> str:
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return f"{end - start:.3f}s"
    return "-"


def render(status: dict[str, Any]) -> str:
    """The status as a human-readable table."""
    lines = [f"run: {status.get('phase')}" + (f", {status['outcome']} ({status.get('reason')})"
                                              if status.get("outcome") else "")]
    if status.get("message"):
        lines.append(f"  {status['message']}")
    for s in status.get("steps", []):  # every held step: in a pipeline, one in each of several branches
        if s["phase"] == "held":
            lines.append(f"HELD: step {s['name']} ({s['hold_reason']}) - "
                         f"doll ctl continue {s['name']} | doll ctl fail {s['name']}")
    lines.append(f"{'#':>3}  {'STEP':<24} {'STATE':<10} {'EXIT':>4}  {'DURATION':>9}  REASON")
    for s in status.get("steps", []):
        state = s["outcome"] if s["phase"] == "done" else s["phase"]
        code = "-" if s.get("exit_code") is None else str(s["exit_code"])
        lines.append(f"{s['index']:>3}  {s['name']:<24} {state:<10} {code:>4}  "
                     f"{_fmt_time(s.get('started_at'), s.get('finished_at')):>9}  {s.get('reason', '')}")
    for t in status.get("tasks", []):
        state = t["outcome"] if t["phase"] == "done" else t["phase"]
        lines.append(f"task {t['name']}: {state}" + (f" ({t['reason']}: {t['message']})" if t.get("message")
                                                     else f" ({t['reason']})" if t.get("reason") else ""))
    for c in status.get("sidecars", []):
        lines.append(f"sidecar {c['name']}: {c['phase']}" + (f" ({c['reason']})" if c.get("reason") else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        ns = _parser().parse_args(args)
    except UsageError as exc:
        print(f"doll ctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    ctl = wire.Ctl(action=ns.action, step=getattr(ns, "step", ""))
    try:
        reply = ask(ns.socket, ctl)
    except (OSError, wire.ProtocolError) as exc:
        print(f"doll ctl: --socket {ns.socket}: no supervisor answered: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if ns.json:
        print(json.dumps({"ok": reply.ok, "message": reply.message, "status": reply.status}, sort_keys=True))
    elif ns.action == "status" and reply.ok:
        print(render(reply.status))
    else:
        print(reply.message, file=sys.stdout if reply.ok else sys.stderr)
    return EXIT_OK if reply.ok else EXIT_REFUSED
