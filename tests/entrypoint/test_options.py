"""The command line's fast path: the same answer as argparse wherever it answers, and a lean start."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
from entrypoint_helpers import ROOT

from entrypoint import options
from entrypoint.options import UsageError, from_argv

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
    assert repr(sorted(vars(plain).items())) == repr(sorted(slow.items()))
    fast_options = from_argv([*head, "--", "true"])
    monkeypatch.setattr(options, "_parse_plain", lambda head: None)
    assert repr(from_argv([*head, "--", "true"])) == repr(fast_options)


@pytest.mark.parametrize("head", LEFT_TO_ARGPARSE)
def test_anything_else_is_left_to_argparse(head: list[str]) -> None:
    assert options._parse_plain(head) is None


def test_the_fast_path_knows_every_option_as_the_parser_does() -> None:
    known: dict[str, str] = {}
    for action in options._parser()._actions:
        (flag,) = action.option_strings
        known[flag] = action.dest
        if isinstance(action, argparse._StoreTrueAction):
            assert options._SWITCHES[flag] == action.dest
            assert options._DEFAULTS[action.dest] is False
        elif isinstance(action, argparse._AppendAction):
            assert options._APPENDS[flag] == action.dest and action.default == [] and action.type is None
        else:
            assert type(action) is argparse._StoreAction
            assert options._VALUES[flag] == (action.dest, action.type or str)
            assert action.required == (action.dest not in options._DEFAULTS)
            if not action.required:
                assert options._DEFAULTS[action.dest] == action.default
            assert options._CHOICES.get(action.dest) == (tuple(action.choices) if action.choices else None)
    assert set(known) == {*options._VALUES, *options._APPENDS, *options._SWITCHES}


def test_a_step_starts_without_argparse_or_typing() -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import entrypoint.main, entrypoint.stepping; "
            "from entrypoint.options import from_argv; from_argv(['--name', 's', '--', 'true']); "
            "print(' '.join(m for m in ('argparse', 'typing', 'ctypes') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", code, str(ROOT)], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == ""
