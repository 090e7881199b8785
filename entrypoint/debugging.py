"""`entrypoint debug status | continue | fail-continue`: for `kubectl exec` into a held step.

The step is found from flags or from the environment the generator sets on every step container
(DOLL_STEP_NAME, DOLL_STEP_DIR, DOLL_SOCKET).  Through the supervisor's socket (a `ctl` request) when it
answers; otherwise in file mode, through files in the step dir (see `holding`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from entrypoint import connecting, holding
from contracts import exits, wire
from contracts.parsing import Parser
from contracts.errors import UsageError
from contracts.records import read_exit_code

__all__ = ["ACTIONS", "through_socket", "through_files", "main"]

ACTIONS = ("status", "continue", "fail-continue")
_REPLY_SECONDS = 10.0


def _parse(argv: list[str]) -> argparse.Namespace:
    p = Parser(prog="entrypoint debug", add_help=False)
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("--name", default=os.environ.get("DOLL_STEP_NAME", ""))
    p.add_argument("--step-dir", default=os.environ.get("DOLL_STEP_DIR", ""))
    p.add_argument("--socket", default=os.environ.get("DOLL_SOCKET", ""))
    return p.parse_args(argv)


def through_socket(path: str, action: str, step: str) -> wire.Reply | None:
    """Ask the supervisor; None when it does not answer (then file mode applies)."""
    try:
        channel = connecting.connect(path, 0.0, 0.0)
    except connecting.SocketPathError:
        return None
    if channel is None:
        return None
    try:
        if not channel.send(wire.Ctl(action=action, step=step)):
            return None
        while True:
            message = channel.receive(timeout=_REPLY_SECONDS)
            if message is None:
                return None
            if isinstance(message, wire.Reply):
                return message
    finally:
        channel.close()


def through_files(step_dir: str, action: str, step: str) -> int:
    reason = holding.held(step_dir)
    if action == "status":
        exit_code = read_exit_code(step_dir)
        print(json.dumps({"step": step, "held": reason, "exitCode": exit_code}))
        return 0
    if reason is None:
        print(f"entrypoint debug: step {step or step_dir!r} is not held at a breakpoint", file=sys.stderr)
        return 1
    name = holding.CONTINUE if action == "continue" else holding.FAIL_CONTINUE
    with open(os.path.join(step_dir, name), "w"):
        pass
    print(f"step {step or step_dir}: {action}")
    return 0


def main(argv: list[str]) -> int:
    try:
        ns = _parse(argv)
    except UsageError as exc:
        print(f"entrypoint debug: usage: {exc}", file=sys.stderr)
        return exits.EXIT_USAGE
    if ns.socket:
        reply = through_socket(ns.socket, ns.action, ns.name)
        if reply is not None:
            if ns.action == "status":
                print(json.dumps(reply.status, sort_keys=True))
            if reply.message:
                print(reply.message, file=sys.stdout if reply.ok else sys.stderr)
            return 0 if reply.ok else 1
    if not ns.step_dir:
        print("entrypoint debug: no supervisor answered and no step dir (--step-dir or DOLL_STEP_DIR)",
              file=sys.stderr)
        return exits.EXIT_WRAPPER_ERROR
    try:
        return through_files(ns.step_dir, ns.action, ns.name)
    except OSError as exc:
        print(f"entrypoint debug: {ns.step_dir}: {exc.strerror}", file=sys.stderr)
        return exits.EXIT_WRAPPER_ERROR
