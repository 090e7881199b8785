"""Step results a step uses: `$(steps.<step>.results.<name>)` in its command, args and env, replaced at its turn.

As Tekton's entrypoint does it (pkg/entrypoint/entrypointer.go: `applyStepResultSubstitutions`, its
`replaceCommandAndArgs`, `replaceEnv` and `findReplacement`), just before the child is spawned, never through
a shell.  The generator checked every reference (an earlier step, a declared result, a form its type allows)
and lists the ones this step uses, `--result-ref steps.<step>.results.<name>=<file>`; only those are replaced,
in every element of the command and every variable of the child's environment (Tekton's replaceEnv walks the
whole environment too).

A result file is read as Tekton reads it (`loadStepResult`, `ResultValue.UnmarshalJSON`): a JSON array of
strings is an array, a JSON object of strings an object, a JSON string its text, anything else the file's
bytes as they are.  The forms (resultref.ParseStepExpression): `$(R)` a string, `$(R[*])` a whole array (only
as a whole element of the command, which it becomes several of), `$(R[i])` one element, `$(R.key)` one value
of an object.

Where Tekton's entrypoint only logs a reference it cannot replace and runs the command with the reference
left in it, the wrapper fails the step (`Unresolved`: exit 125, the reason in the record), before its child
ever runs: a missing result file, an index out of range, a key the object lacks, a form its value does not
have.  Standard library only; imported only by a step that uses step results.
"""

from __future__ import annotations

import json
import re

__all__ = ["Unresolved", "Resolver", "value_of"]

Value = str | list[str] | dict[str, str]


class Unresolved(Exception):
    """A reference that cannot be replaced: the step fails (one line saying why)."""


def value_of(text: str) -> Value:
    """The value of a result file's text, as Tekton's ResultValue.UnmarshalJSON reads it."""
    if text[:1] in ("[", "{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return value
        if isinstance(value, dict) and all(isinstance(item, str) for item in value.values()):
            return value
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    return decoded if isinstance(decoded, str) else text


class Resolver:
    """Replaces the listed references (built before the step's turn: only the files are read at it)."""

    def __init__(self, refs: tuple[str, ...]) -> None:
        self.files: dict[str, str] = {}
        for pair in refs:
            name, _, path = pair.partition("=")
            self.files[name] = path
        names = sorted(self.files, key=len, reverse=True)  # a result named `x.y` before a result `x`'s key y
        self.pattern = re.compile(r"\$\((" + "|".join(map(re.escape, names)) + r")(\[\*\]|\[\d+\]|\.[^.()\[\]\s]+)?\)")
        self.values: dict[str, Value] = {}

    def _load(self, name: str) -> Value:
        if name not in self.values:
            path = self.files[name]
            try:
                with open(path, "rb") as f:
                    self.values[name] = value_of(f.read().decode("utf-8", errors="replace"))
            except FileNotFoundError:
                raise Unresolved(f"$({name}): no such step result ({path} does not exist)") from None
            except OSError as exc:
                raise Unresolved(f"$({name}): {path} cannot be read: {exc.strerror}") from None
        return self.values[name]

    def _one(self, match: re.Match[str]) -> str | list[str]:
        name, part = match.group(1), match.group(2) or ""
        value = self._load(name)
        kind = "an array" if isinstance(value, list) else "an object" if isinstance(value, dict) else "a string"
        if part == "[*]" and isinstance(value, list):
            return value
        if part.startswith("[") and part != "[*]" and isinstance(value, list):
            index = int(part[1:-1])
            if index >= len(value):
                raise Unresolved(f"{match.group(0)}: index {index} out of range (the array has {len(value)})")
            return value[index]
        if part.startswith(".") and isinstance(value, dict):
            if part[1:] not in value:
                raise Unresolved(f"{match.group(0)}: the object has no key {part[1:]!r}")
            return value[part[1:]]
        if not part and isinstance(value, str):
            return value
        raise Unresolved(f"{match.group(0)}: the result is {kind} ({self.files[name]})")

    def text(self, text: str, where: str) -> str:
        """`text` with every reference replaced; an array here (not a whole command element) is refused."""
        def one(match: re.Match[str]) -> str:
            value = self._one(match)
            if isinstance(value, list):
                raise Unresolved(f"{where}: {match.group(0)} is a whole array: it can only be a whole element of "
                                 "command or args")
            return value
        return self.pattern.sub(one, text) if "$(" in text else text

    def command(self, command: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for i, word in enumerate(command):
            whole = self.pattern.fullmatch(word)
            value = self._one(whole) if whole else None
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(self.text(word, f"command[{i}]"))
        if not out:
            raise Unresolved("the command is empty once the step results are replaced (an empty array)")
        return tuple(out)

    def env(self, env: dict[str, str]) -> dict[str, str]:
        return {key: self.text(value, f"env {key}") for key, value in env.items()}
