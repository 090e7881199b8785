"""Step results a step uses: `$(steps.<step>.results.<name>)` in its command, args and env, replaced at its turn.

As Tekton's entrypoint does it (pkg/entrypoint/entrypointer.go: `applyStepResultSubstitutions`, its
`replaceCommandAndArgs`, `replaceEnv` and `findReplacement`), just before the child is spawned, never through
a shell.  The generator checked every reference (an earlier step, a declared result, a form its type allows)
and lists the ones this step uses, `--result-ref steps.<step>.results.<name>=<file>`; only those are replaced,
in every element of the command and every variable of the child's environment (Tekton's replaceEnv walks the
whole environment too), and in the step's script (command[0] in /tekton/scripts, written by the init container
before any value existed: a copy with the references replaced runs instead, from the step's own directory).

A result file is read as Tekton reads it (`loadStepResult`, `ResultValue.UnmarshalJSON`): a JSON array of
strings is an array, a JSON object of strings an object, a JSON string its text, anything else the file's
bytes as they are.  The forms (resultref.ParseStepExpression): `$(R)` a string, `$(R[*])` a whole array (only
as a whole element of the command, which it becomes several of), `$(R[i])` one element, `$(R.key)` one value
of an object.

Where Tekton's entrypoint only logs a reference it cannot replace and runs the command with the reference
left in it, the wrapper fails the step (`Unresolved`: exit 125, the reason in the record), before its child
ever runs: a missing result file, an index out of range, a key the object lacks, a form its value does not
have.  The value forms are contracts/ref_values.py's (the supervisor
reads task results with them too).  Standard library only; imported only by a step that uses step results.
"""

from __future__ import annotations

import os
import re

from contracts.ref_values import Unresolved, Value, form_of, pattern_for, substitute, value_of

__all__ = ["SCRIPT_COPY", "Unresolved", "Resolver", "value_of"]

SCRIPT_COPY = "script"  # in the step's own directory: its script with the references replaced


class Resolver:
    """Replaces the listed references (built before the step's turn: only the files are read at it)."""

    def __init__(self, refs: tuple[str, ...]) -> None:
        self.files: dict[str, str] = {}
        for pair in refs:
            name, _, path = pair.partition("=")
            self.files[name] = path
        self.pattern = pattern_for(self.files)
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
        name = match.group(1)
        return form_of(match.group(0), match.group(2) or "", self._load(name), self.files[name])

    def text(self, text: str, where: str) -> str:
        """`text` with every reference replaced; an array here (not a whole command element) is refused."""
        return substitute(text, self.pattern, self._load, where)

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

    def script(self, command: tuple[str, ...], scripts_dir: str, step_dir: str) -> tuple[str, ...]:
        """A script init wrote (command[0] in `scripts_dir`) before the values existed: its references replaced
        in a private copy in the step's own directory (mode 0700), which runs instead; else `command`."""
        if not step_dir or os.path.dirname(command[0]) != scripts_dir.rstrip("/"):
            return command
        name = os.path.basename(command[0])
        try:
            with open(command[0], encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            raise Unresolved(f"script {name}: cannot be read: {exc.strerror}") from None
        replaced = self.text(text, f"script {name}")
        if replaced == text:
            return command
        path = os.path.join(step_dir, SCRIPT_COPY)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o700)
        with open(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            os.fchmod(fd, 0o700)
            f.write(replaced)
        return (path, *command[1:])
