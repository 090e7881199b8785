"""The wrapper's command line: one dataclass, parsed here and rendered here (the generator renders it).

    /doll/bin/entrypoint [options] -- CMD [ARGS...]
    /doll/bin/entrypoint debug {status,continue,fail-continue} [--socket PATH] [--step-dir DIR]
"""

from __future__ import annotations

import json
from types import SimpleNamespace

from entrypoint import protocol

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds of every
    import argparse  # wrapper start (see freezing), and argparse is imported only for unusual command lines
    from collections.abc import Callable
    from dataclasses import dataclass, field
    from typing import Literal
else:
    from entrypoint.freezing import dataclass, field


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
    poll_seconds: float = 0.0  # file mode: poll interval; 0 = dnotify with a 0.1 s polling fallback
    breakpoint_before: bool = False  # file mode: hold before running until `debug continue`
    breakpoint_on_failure: bool = False  # file mode: hold after a failure until `debug continue`
    platform_commands: dict[str, list[str]] = field(default_factory=dict)  # "linux/amd64" -> command
    socket_wait_seconds: float = 30.0  # socket missing at start: wait this long for it, then the file chain
    reconnect_seconds: float = 2.0  # supervisor gone (refused / hung up): retry this long, then the file chain
    command: tuple[str, ...] = ()  # after `--`

    def to_argv(self) -> list[str]:
        """Render as wrapper arguments, defaults omitted; `from_argv(o.to_argv()) == o`."""
        from dataclasses import fields

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


def _parser() -> argparse.ArgumentParser:
    from entrypoint.arguments import Parser

    p = Parser(prog="entrypoint", add_help=False)
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


# The parser's options, for `_parse_plain`: flag -> (dest, conversion), default (test_options checks
# these against `_parser()`)
_VALUES: dict[str, tuple[str, Callable[[str], object]]] = {
    "--name": ("name", str), "--index": ("index", int), "--socket": ("socket", str),
    "--post-file": ("post_file", str), "--timeout-seconds": ("timeout_seconds", float),
    "--on-error": ("on_error", str), "--stdout-path": ("stdout_path", str),
    "--stderr-path": ("stderr_path", str), "--termination-path": ("termination_path", str),
    "--results-dir": ("results_dir", str), "--step-dir": ("step_dir", str),
    "--grace-seconds": ("grace_seconds", float), "--poll-seconds": ("poll_seconds", float),
    "--platform-commands": ("platform_commands", str),
    "--socket-wait-seconds": ("socket_wait_seconds", float), "--reconnect-seconds": ("reconnect_seconds", float),
}
_APPENDS = {"--wait-file": "wait_files", "--result": "results"}
_SWITCHES = {"--wait-file-content": "wait_file_content", "--sidecar": "sidecar",
             "--breakpoint-before": "breakpoint_before", "--breakpoint-on-failure": "breakpoint_on_failure"}
_CHOICES = {"on_error": ("continue", "stopAndFail")}
_DEFAULTS: dict[str, object] = {
    "index": 0, "socket": "", "wait_file_content": False, "post_file": "", "timeout_seconds": None,
    "on_error": "stopAndFail", "stdout_path": "", "stderr_path": "", "termination_path": "", "results_dir": "",
    "step_dir": "", "sidecar": False, "grace_seconds": 30.0, "poll_seconds": 0.0, "breakpoint_before": False,
    "breakpoint_on_failure": False, "platform_commands": "", "socket_wait_seconds": 30.0,
    "reconnect_seconds": 2.0,
}


def _parse_plain(head: list[str]) -> SimpleNamespace | None:
    """What `_parser()` makes of a plain command line (each option spelled in full, its value the next word
    and not starting with "-", every value valid, --name given), without importing argparse; None for any
    other command line, which is left to argparse (its errors and its rules)."""
    values = dict(_DEFAULTS)
    appended: dict[str, list[str]] = {"wait_files": [], "results": []}
    i = 0
    while i < len(head):
        arg = head[i]
        if arg in _SWITCHES:
            values[_SWITCHES[arg]] = True
            i += 1
            continue
        if i + 1 >= len(head) or head[i + 1].startswith("-"):
            return None
        word = head[i + 1]
        i += 2
        if arg in _APPENDS:
            appended[_APPENDS[arg]].append(word)
            continue
        spec = _VALUES.get(arg)
        if spec is None:
            return None
        dest, convert = spec
        try:
            value = convert(word)
        except (TypeError, ValueError):
            return None
        if dest in _CHOICES and value not in _CHOICES[dest]:
            return None
        values[dest] = value
    if "name" not in values:
        return None
    values.update(appended)
    return SimpleNamespace(**values)


def from_argv(argv: list[str]) -> StepOptions:
    """Parse wrapper arguments; raise UsageError with a one-line reason."""
    if "--" not in argv:
        raise UsageError("missing `--` before the command to run")
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    plain = _parse_plain(head)
    ns = plain if plain is not None else _parser().parse_args(head)
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
    if ns.timeout_seconds is not None and not 0 < ns.timeout_seconds < _FOREVER:
        raise UsageError(f"--timeout-seconds: {ns.timeout_seconds} (must be > 0 and finite)")
    for flag, value in (("--socket-wait-seconds", ns.socket_wait_seconds),
                        ("--reconnect-seconds", ns.reconnect_seconds), ("--grace-seconds", ns.grace_seconds),
                        ("--poll-seconds", ns.poll_seconds)):
        if not 0 <= value < _FOREVER:  # also refuses nan (every comparison with it is false)
            raise UsageError(f"{flag}: {value} (must be >= 0 and finite)")
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


_FOREVER = float("inf")


def default_socket() -> str:
    return f"{protocol.DOLL_RUN}/{protocol.SOCKET_NAME}"
