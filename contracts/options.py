"""The wrapper's command line: one dataclass, parsed here and rendered here (the generator renders it).

    /doll/bin/entrypoint [options] -- CMD [ARGS...]
    /doll/bin/entrypoint debug {status,continue,fail-continue} [--socket PATH] [--step-dir DIR]

`StepOptions` is the one list of options: each field is an option (`--` + its name with dashes; a tuple
field is repeated in the singular, `--wait-file`), its annotation says how its value is read and its default
is the option's.  `OPTIONS` is derived from it, and both the parser and `to_argv` use `OPTIONS`.
"""

from __future__ import annotations

import json

from contracts.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:  # mypy sees typing and the standard decorator; at run time they cost milliseconds of every
    import argparse  # wrapper start (see freezing), and argparse is imported only for unusual command lines
    from collections.abc import Callable
    from dataclasses import dataclass, field
    from typing import Any, Literal
else:
    from contracts.freezing import dataclass, field

__all__ = ["StepOptions", "Option", "OPTIONS", "from_argv", "UsageError"]


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
    # step results this step uses, `steps.<step>.results.<name>=<file>`: replaced in its command and env at its turn
    result_refs: tuple[str, ...] = ()
    result_files: tuple[str, ...] = ()  # task results taken from a file (a step result): `<task result>=<file>`
    step_dir: str = ""  # this step's own directory: exitCode and state are written here
    # where init wrote the steps' scripts: a command[0] there that uses a --result-ref is rewritten at the turn
    scripts_dir: str = "/tekton/scripts"
    sidecar: bool = False  # wrap a sidecar: answer probes, stop on the supervisor's word
    grace_seconds: float = 30.0  # SIGTERM -> SIGKILL of the whole process group
    poll_seconds: float = 0.0  # file mode: poll interval; 0 = dnotify with a 0.1 s polling fallback
    breakpoint_before: bool = False  # file mode: hold before running until `debug continue`
    breakpoint_on_failure: bool = False  # file mode: hold after a failure until `debug continue`
    platform_commands: dict[str, list[str]] = field(default_factory=dict)  # "linux/amd64" -> command
    socket_wait_seconds: float = 30.0  # socket missing at start: wait this long for it, then the file chain
    reconnect_seconds: float = 2.0  # supervisor gone (refused / hung up): retry this long, then the file chain
    # native layout: the kubelet restarts the supervisor (after up to 300 s of back-off), so a step waiting for
    # its turn waits for it however long it is gone and never takes the file chain (which would skip the gate)
    await_supervisor: bool = False
    # the Pod's containers (init ones included): the kubelet keeps 12 KiB / N of each termination message
    container_count: int = 0
    command: tuple[str, ...] = ()  # after `--`

    def to_argv(self) -> list[str]:
        """Render as wrapper arguments, defaults omitted; `from_argv(o.to_argv()) == o`."""
        argv: list[str] = []
        for option in OPTIONS:
            value = getattr(self, option.dest)
            if value == option.default:
                continue
            if option.kind == "switch":
                argv.append(option.flag)
            elif option.kind == "append":
                for item in value:
                    argv += [option.flag, str(item)]
            elif option.kind == "json":
                argv += [option.flag, json.dumps(value, separators=(",", ":"), sort_keys=True)]
            else:
                argv += [option.flag, str(value)]
        return argv + ["--", *self.command]


class Option:
    """One option of the wrapper, as `StepOptions` declares it."""

    __slots__ = ("dest", "flag", "kind", "default", "choices", "required")

    def __init__(self, dest: str, annotation: str, default: object, required: bool) -> None:
        self.dest, self.default, self.required = dest, default, required
        self.choices: tuple[str, ...] = ()
        self.kind = _KINDS.get(annotation, "")
        if annotation.startswith("Literal["):
            self.kind = "choice"
            self.choices = tuple(part.strip().strip("\"'") for part in annotation[8:-1].split(","))
        elif annotation.startswith("tuple["):
            self.kind = "append"
        elif not self.kind:
            raise TypeError(f"StepOptions.{dest}: no option kind for {annotation!r}")
        flag = "--" + dest.replace("_", "-")
        self.flag: str = flag[:-1] if self.kind == "append" and flag.endswith("s") else flag

    def convert(self, word: str) -> object:
        """The value of `word` for this option; ValueError when it is not one."""
        if self.kind == "int":
            return int(word)
        if self.kind in ("float", "optional_float"):
            return float(word)
        if self.kind == "json":
            return _json_commands(word)
        if self.kind == "choice" and word not in self.choices:
            raise ValueError(f"invalid choice: {word!r} (choose from {', '.join(map(repr, self.choices))})")
        return word


_KINDS = {"str": "str", "int": "int", "float": "float", "float | None": "optional_float", "bool": "switch",
          "dict[str, list[str]]": "json"}


def _options() -> tuple[Option, ...]:
    """The options, from StepOptions' fields (without importing dataclasses: its annotations and __init__)."""
    annotations: dict[str, str] = dict(StepOptions.__annotations__)
    annotations.pop("command")
    init = StepOptions.__init__
    names = list(init.__code__.co_varnames[1:init.__code__.co_argcount])
    defaults = dict(zip(names[len(names) - len(init.__defaults__ or ()):], init.__defaults__ or ()))
    return tuple(Option(name, annotations[name], _default(defaults.get(name, _REQUIRED), name),
                        name not in defaults) for name in names if name != "command")


_REQUIRED = object()


def _default(value: object, name: str) -> object:
    if value is _REQUIRED:
        return None
    if repr(value) == "<factory>":  # field(default_factory=dict): both decorators' sentinel says so
        if StepOptions.__annotations__[name] != "dict[str, list[str]]":
            raise TypeError(f"StepOptions.{name}: only a dict option may have a default factory")
        return {}
    return value


OPTIONS: tuple[Option, ...] = _options()
_BY_FLAG = {option.flag: option for option in OPTIONS}


def _json_commands(word: str) -> dict[str, list[str]]:
    """--platform-commands: an object of platform -> command (list of strings)."""
    try:
        value = json.loads(word)
    except ValueError:
        raise UsageError(f"--platform-commands: not JSON: {word!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(v, list) and all(isinstance(a, str) for a in v) for v in value.values()
    ):
        raise UsageError("--platform-commands: expected an object of platform -> list of strings")
    return value


def _parser() -> argparse.ArgumentParser:
    """argparse over OPTIONS: its rules and its messages, for any command line the fast path leaves."""
    from contracts.parsing import Parser

    p = Parser(prog="entrypoint", add_help=False)
    for o in OPTIONS:
        if o.kind == "switch":
            p.add_argument(o.flag, dest=o.dest, action="store_true")
        elif o.kind == "append":
            p.add_argument(o.flag, dest=o.dest, action="append", default=[])
        elif o.kind == "json":
            p.add_argument(o.flag, dest=o.dest, default="")
        else:
            convert: Callable[[str], Any] = {"int": int, "float": float, "optional_float": float}.get(o.kind, str)
            p.add_argument(o.flag, dest=o.dest, type=convert, required=o.required,
                           choices=list(o.choices) or None, default=o.default)
    return p


def _parse_plain(head: list[str]) -> dict[str, object] | None:
    """What `_parser()` makes of a plain command line (each option spelled in full, its value the next word
    and not starting with "-", every value valid, the required ones given), without importing argparse; None
    for any other command line, which is left to argparse (its errors and its rules)."""
    values: dict[str, object] = {o.dest: ([] if o.kind == "append" else "" if o.kind == "json" else o.default)
                                 for o in OPTIONS if not o.required}
    i = 0
    while i < len(head):
        option = _BY_FLAG.get(head[i])
        if option is None:
            return None
        if option.kind == "switch":
            values[option.dest] = True
            i += 1
            continue
        if i + 1 >= len(head) or head[i + 1].startswith("-"):
            return None
        word = head[i + 1]
        i += 2
        if option.kind == "append":
            appended = values[option.dest]
            assert isinstance(appended, list)
            appended.append(word)
        elif option.kind == "json":
            values[option.dest] = word
        else:
            try:
                values[option.dest] = option.convert(word)
            except ValueError:
                return None
    if any(o.required and o.dest not in values for o in OPTIONS):
        return None
    return values


def from_argv(argv: list[str]) -> StepOptions:
    """Parse wrapper arguments; raise UsageError with a one-line reason."""
    if "--" not in argv:
        raise UsageError("missing `--` before the command to run")
    split = argv.index("--")
    head, command = argv[:split], argv[split + 1:]
    plain = _parse_plain(head)
    values = plain if plain is not None else vars(_parser().parse_args(head))
    for option in OPTIONS:
        if option.kind == "append":
            values[option.dest] = tuple(values[option.dest])  # type: ignore[arg-type]
        elif option.kind == "json":
            values[option.dest] = _json_commands(str(values[option.dest])) if values[option.dest] else {}
    options = StepOptions(**values, command=tuple(command))
    _check(options)
    return options


def _check(o: StepOptions) -> None:
    if not o.command and not o.platform_commands:
        raise UsageError("nothing to run after `--`")
    if o.timeout_seconds is not None and not 0 < o.timeout_seconds < _FOREVER:
        raise UsageError(f"--timeout-seconds: {o.timeout_seconds} (must be > 0 and finite)")
    for flag, value in (("--socket-wait-seconds", o.socket_wait_seconds),
                        ("--reconnect-seconds", o.reconnect_seconds), ("--grace-seconds", o.grace_seconds),
                        ("--poll-seconds", o.poll_seconds)):
        if not 0 <= value < _FOREVER:  # also refuses nan (every comparison with it is false)
            raise UsageError(f"{flag}: {value} (must be >= 0 and finite)")
    if o.index < 0:
        raise UsageError(f"--index: {o.index} (must be >= 0)")
    for flag, pairs in (("--result-ref", o.result_refs), ("--result-file", o.result_files)):
        for pair in pairs:
            name, eq, path = pair.partition("=")
            if not (name and eq and path):
                raise UsageError(f"{flag}: {pair!r} (expected NAME=FILE)")


_FOREVER = float("inf")
