"""The command line's fast path: the same answer as argparse wherever it answers, and a lean start."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from contracts import options
from contracts.errors import UsageError
from contracts.options import StepOptions, from_argv

ROOT = Path(__file__).resolve().parents[2]

PLAIN = [
    ["--name", "s"],
    ["--name", ""],
    ["--name", "s", "--name", "t", "--index", "3", "--socket", "/doll/run/control.sock"],
    ["--name", "s", "--index", "007", "--wait-file", "/a/out", "--wait-file", "/b/out", "--wait-file-content",
     "--post-file", "/c/out", "--timeout-seconds", "1.5", "--on-error", "continue", "--stdout-path", "o",
     "--stderr-path", "e", "--termination-path", "t", "--results-dir", "r", "--result", "x", "--result", "y",
     "--step-dir", "d", "--sidecar", "--grace-seconds", "2", "--poll-seconds", "0.5", "--breakpoint-before",
     "--breakpoint-on-failure", "--platform-commands", '{"linux/amd64":["a"]}', "--socket-wait-seconds", "1e1",
     "--reconnect-seconds", ".25"],
    ["--sidecar", "--name", "s", "--sidecar"],
]
LEFT_TO_ARGPARSE = [
    [],
    ["--index", "1"],  # --name missing
    ["--name"],
    ["--name", "--sidecar"],
    ["--name", "-s"],
    ["--name", "-"],
    ["--name=s"],
    ["--nam", "s"],  # an abbreviation
    ["--name", "s", "stray"],
    ["--name", "s", "--index", "x"],
    ["--name", "s", "--index", "-1"],
    ["--name", "s", "--timeout-seconds", "-3"],
    ["--name", "s", "--on-error", "sometimes"],
    ["--name", "s", "--bogus", "1"],
    ["--name", "s", "-h"],
    ["--name", "s", "--sidecar=yes"],
]


def _argparse(head: list[str]) -> dict[str, object] | str:
    try:
        return vars(options._parser().parse_args(head))
    except UsageError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("head", PLAIN)
def test_a_plain_command_line_parses_as_argparse_parses_it(head: list[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    plain = options._parse_plain(head)
    assert plain is not None
    slow = _argparse(head)
    assert isinstance(slow, dict)
    assert repr(sorted(plain.items())) == repr(sorted(slow.items()))
    fast_options = from_argv([*head, "--", "true"])
    monkeypatch.setattr(options, "_parse_plain", lambda head: None)
    assert repr(from_argv([*head, "--", "true"])) == repr(fast_options)


@pytest.mark.parametrize("head", LEFT_TO_ARGPARSE)
def test_anything_else_is_left_to_argparse(head: list[str]) -> None:
    assert options._parse_plain(head) is None


def test_every_field_of_step_options_is_one_option_with_its_default() -> None:
    fields = [f for f in dataclasses.fields(StepOptions) if f.name != "command"]
    assert [o.dest for o in options.OPTIONS] == [f.name for f in fields]
    for option, f in zip(options.OPTIONS, fields):
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert option.required == (default is dataclasses.MISSING)
        if not option.required:
            assert option.default == default, option.dest


def test_the_parser_and_the_fast_path_know_the_same_options() -> None:
    known: dict[str, str] = {}
    for action in options._parser()._actions:
        (flag,) = action.option_strings
        known[flag] = action.dest
        option = options._BY_FLAG[flag]
        assert option.dest == action.dest
        if isinstance(action, argparse._StoreTrueAction):
            assert option.kind == "switch"
        elif isinstance(action, argparse._AppendAction):
            assert option.kind == "append" and action.default == [] and action.type is None
        else:
            assert action.required == option.required
            assert tuple(action.choices or ()) == option.choices
    assert set(known) == set(options._BY_FLAG)


def test_to_argv_renders_what_from_argv_reads_back() -> None:
    every = StepOptions(name="s", index=3, socket="/x.sock", wait_files=("/a/out", "/b/out"), wait_file_content=True,
                        post_file="/c/out", timeout_seconds=1.5, on_error="continue", results=("r1", "r2"),
                        sidecar=True, grace_seconds=2.0, platform_commands={"linux/amd64": ["a", "b"]},
                        reconnect_seconds=0.5, command=("echo", "--", "-x"))
    assert from_argv(every.to_argv()) == every
    assert StepOptions(name="s", command=("true",)).to_argv() == ["--name", "s", "--", "true"]


def test_a_step_starts_without_argparse_or_typing() -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import entrypoint.main, entrypoint.stepping; "
            "from contracts.options import StepOptions, from_argv; from_argv(['--name', 's', '--', 'true']); "
            "print(' '.join(m for m in ('argparse', 'typing', 'ctypes') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", code, str(ROOT)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ""
