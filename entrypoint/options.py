"""The wrapper's command line: one dataclass, parsed here and rendered here (the generator renders it).

    /doll/bin/entrypoint [options] -- CMD [ARGS...]
    /doll/bin/entrypoint debug {status,continue,fail-continue} [--socket PATH] [--step-dir DIR]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, fields
from typing import Literal

from entrypoint import protocol


class UsageError(Exception):
    """Bad options; main() prints it in one line and exits with protocol.EXIT_USAGE."""


@dataclass(frozen=True)
class StepOptions:
    """Everything the wrapper is told on its command line (one field per option)."""

    name: str
    index: int = 0
    socket: str = ""  # the supervisor's control socket; "" = file mode only
    wait_files: tuple[str, ...] = ()  # file mode: wait for these (the previous step's post file)
    wait_file_content: bool = False  # file mode: the wait file must also be non-empty
    post_file: str = ""  # written when this step ends (`<post_file>.err` on failure, Tekton's cascade)
    timeout_seconds: float | None = None
    on_error: Literal["continue", "stopAndFail"] = "stopAndFail"
    stdout_path: str = ""  # tee the child's stdout here too
    stderr_path: str = ""
    termination_path: str = ""  # Tekton-format termination message (JSON list of {key, value, type})
    results_dir: str = ""  # results are read from <results_dir>/<name>
    results: tuple[str, ...] = ()
    step_dir: str = ""  # this step's own directory: exitCode and state are written here
    sidecar: bool = False  # wrap a sidecar: answer probes, stop on the supervisor's word
    grace_seconds: float = 30.0  # SIGTERM -> SIGKILL of the whole process group
    poll_seconds: float = 0.0  # file mode: poll interval; 0 = inotify with a 0.1 s polling fallback
    breakpoint_before: bool = False  # file mode: hold before running until `debug continue`
    breakpoint_on_failure: bool = False  # file mode: hold after a failure until `debug continue`
    platform_commands: dict[str, list[str]] = field(default_factory=dict)  # "linux/amd64" -> command
    socket_wait_seconds: float = 30.0  # socket missing at start: wait this long for it, then the file chain
    reconnect_seconds: float = 2.0  # supervisor gone (refused / hung up): retry this long, then the file chain
    command: tuple[str, ...] = ()  # after `--`

    def to_argv(self) -> list[str]:
        """Render as wrapper arguments, defaults omitted; `from_argv(o.to_argv()) == o`."""
        argv: list[str] = []
        for f in fields(self):
            if f.name == "command":
                continue
            value = getattr(self, f.name)
            default = f.default_factory() if callable(f.default_factory) else f.default
            if value == default:
                continue
            flag = "--" + f.name.replace("_", "-")
            if isinstance(value, bool):
                argv.append(flag)
            elif isinstance(value, tuple):
                for item in value:
                    argv += [_PLURALS.get(f.name, flag), str(item)]
            elif isinstance(value, dict):
                argv += [flag, json.dumps(value, separators=(",", ":"), sort_keys=True)]
            else:
                argv += [flag, str(value)]
        return argv + ["--", *self.command]


_PLURALS = {"wait_files": "--wait-file", "results": "--result"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="entrypoint", add_help=False)
    p.add_argument("--name", required=True)
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--socket", default="")
    p.add_argument("--wait-file", dest="wait_files", action="append", default=[])
    p.add_argument("--wait-file-content", action="store_true")
    p.add_argument("--post-file", default="")
    p.add_argument("--timeout-seconds", type=float, default=None)
    p.add_argument("--on-error", choices=["continue", "stopAndFail"], default="stopAndFail")
    p.add_argument("--stdout-path", default="")
    p.add_argument("--stderr-path", default="")
    p.add_argument("--termination-path", default="")
    p.add_argument("--results-dir", default="")
    p.add_argument("--result", dest="results", action="append", default=[])
    p.add_argument("--step-dir", default="")
    p.add_argument("--sidecar", action="store_true")
    p.add_argument("--grace-seconds", type=float, default=30.0)
    p.add_argument("--poll-seconds", type=float, default=0.0)
    p.add_argument("--breakpoint-before", action="store_true")
    p.add_argument("--breakpoint-on-failure", action="store_true")
    p.add_argument("--platform-commands", default="")
    p.add_argument("--socket-wait-seconds", type=float, default=30.0)
    p.add_argument("--reconnect-seconds", type=float, default=2.0)
    return p


def from_argv(argv: list[str]) -> StepOptions:
    """Parse wrapper arguments; raise UsageError with a one-line reason."""
    if "--" not in argv:
        raise UsageError("missing `--` before the command to run")
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    ns = _parser().parse_args(head)
    platform_commands: dict[str, list[str]] = {}
    if ns.platform_commands:
        try:
            platform_commands = json.loads(ns.platform_commands)
        except ValueError:
            raise UsageError(f"--platform-commands: not JSON: {ns.platform_commands!r}") from None
        if not isinstance(platform_commands, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in platform_commands.values()
        ):
            raise UsageError("--platform-commands: expected an object of platform -> list of strings")
    if not command and not platform_commands:
        raise UsageError("nothing to run after `--`")
    if ns.timeout_seconds is not None and ns.timeout_seconds <= 0:
        raise UsageError(f"--timeout-seconds: {ns.timeout_seconds} (must be > 0)")
    for flag, value in (("--socket-wait-seconds", ns.socket_wait_seconds),
                        ("--reconnect-seconds", ns.reconnect_seconds), ("--grace-seconds", ns.grace_seconds),
                        ("--poll-seconds", ns.poll_seconds)):
        if value < 0:
            raise UsageError(f"{flag}: {value} (must be >= 0)")
    if ns.index < 0:
        raise UsageError(f"--index: {ns.index} (must be >= 0)")
    return StepOptions(
        name=ns.name, index=ns.index, socket=ns.socket, wait_files=tuple(ns.wait_files),
        wait_file_content=ns.wait_file_content, post_file=ns.post_file, timeout_seconds=ns.timeout_seconds,
        on_error=ns.on_error, stdout_path=ns.stdout_path, stderr_path=ns.stderr_path,
        termination_path=ns.termination_path, results_dir=ns.results_dir, results=tuple(ns.results),
        step_dir=ns.step_dir, sidecar=ns.sidecar, grace_seconds=ns.grace_seconds,
        poll_seconds=ns.poll_seconds, breakpoint_before=ns.breakpoint_before,
        breakpoint_on_failure=ns.breakpoint_on_failure, platform_commands=platform_commands,
        socket_wait_seconds=ns.socket_wait_seconds, reconnect_seconds=ns.reconnect_seconds,
        command=tuple(command),
    )


def default_socket() -> str:
    return f"{protocol.DOLL_RUN}/{protocol.SOCKET_NAME}"
