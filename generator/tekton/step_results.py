"""Step results used by value: `$(steps.<step>.results.<name>)` in a later step, and task results taken from one.

Tekton resolves them at run time, in the entrypoint (pkg/entrypoint/entrypointer.go
`applyStepResultSubstitutions`), and so does doll: the generator checks each reference here, leaves it in
the step's command, args and env (substituting.Deferred), and tells the step's wrapper which files to read
(`--result-ref steps.<step>.results.<name>=<file>`, entrypoint/references.py).  A task result declared with
`value: $(steps.<step>.results.<name>)` is that step result's value, as the TaskRun status shows it (Tekton's
pkg/pod/status.go `createTaskResultsFromStepResults`, per step container): the wrapper of that step reports
it as the task result (`--result-file <task result>=<file>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import layout
from generator.errors import GenerateError, quote
from generator.tekton import naming
from generator.tekton.specs import RawObject
from generator.tekton.substituting import Deferred, Key, references

__all__ = ["Declared", "check_step", "declared_results", "result_file", "task_result_files", "variables"]

Declared = Mapping[str, Mapping[str, str]]  # step -> result -> type ("string", "array", "object")
_ALLOWED = "step results can be used only in a step's env, command and args"  # Tekton: validateStepResultReference


def result_file(pipeline_task: str, step: str, result: str) -> str:
    """A step result's file, in the step's dir (a pipeline task's step: its qualified name's, naming.qualified)."""
    directory = layout.step_dir(layout.STEPS_DIR, naming.qualified(pipeline_task, step))
    return f"{directory}/{layout.STEP_RESULTS_DIR}/{result}"


def declared_results(results: Any) -> dict[str, str]:
    """A step's declared results (already checked) with their types, defaulted as Tekton's StepResult."""
    out: dict[str, str] = {}
    for result in results or []:
        kind = result.get("type") or ("object" if result.get("properties") else "string")
        out[str(result["name"])] = str(kind)
    return out


def _strings(value: Any, where: str, role: str) -> list[tuple[str, str, str]]:
    if isinstance(value, str):
        return [(where, value, role)]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, f"{where}[{i}]", role)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, f"{where}.{k}", role)]
    return []


def _fields(spec: RawObject, where: str) -> list[tuple[str, str, str]]:
    """(where, text, role) for every string of a step: role "element" for a command or args element, "env" for
    an env value, "" for any other field."""
    out = []
    for key, item in spec.items():
        if key in ("command", "args") and isinstance(item, list):
            out += [s for i, v in enumerate(item) for s in _strings(v, f"{where}.{key}[{i}]", "element")]
        elif key == "env" and isinstance(item, list):
            out += [s for i, e in enumerate(item) if isinstance(e, dict) for k, v in e.items()
                    for s in _strings(v, f"{where}.env[{i}].{k}", "env" if k == "value" else "")]
        else:
            out += _strings(item, f"{where}.{key}", "")
    return out


def _check_form(text: str, ref: str, key: Key, kind: str, role: str) -> str:
    """What is wrong with this form of the reference for a result of this type ("": nothing)."""
    part = key[4] if len(key) == 5 else ""
    if len(key) > 5:
        return "expected $(steps.<step>.results.<name>), with [*], [i] or .<key> after it"
    if part == "[*]":
        if kind != "array":
            return f"[*] of a {kind} result"
        if role != "element" or text.strip() != ref:
            return "a whole array can only be a whole element of command or args"
        return ""
    if part.startswith("["):
        return "" if kind == "array" else f"an index of a {kind} result"
    if part:
        return "" if kind == "object" else f"a key of a {kind} result"
    return {"array": "an array result: use [*] or [i]", "object": "an object result: use .<key>"}.get(kind, "")


def check_step(spec: RawObject, index: int, names: list[str], declared: Declared, where: str,
               pipeline_task: str = "") -> tuple[str, ...]:
    """Check every step result this step (the `index`th, not yet substituted) uses: the `--result-ref`s it needs."""
    refs: dict[str, str] = {}
    for field, text, role in _fields(spec, where):
        for ref, key in references(text):
            if key[0] != "steps" or len(key) < 3 or key[2] != "results":
                continue
            if role not in ("element", "env"):
                raise GenerateError(f"{field}: {ref}: {_ALLOWED}")
            if len(key) < 4 or key[1] not in names:
                hint = f"no step {quote(key[1])}" if len(key) >= 4 else "expected $(steps.<step>.results.<name>)"
                raise GenerateError(f"{field}: {ref}: {hint}")
            if names.index(key[1]) >= index:
                raise GenerateError(f"{field}: {ref}: step {quote(key[1])} does not run before this one (a step can "
                                    "use only an earlier step's results)")
            kinds = declared.get(key[1], {})
            if key[3] not in kinds:
                known = ", ".join(sorted(kinds)) or "none"
                raise GenerateError(f"{field}: {ref}: step {quote(key[1])} declares no result {quote(key[3])} "
                                    f"(it declares: {known})")
            problem = _check_form(text, ref, key, kinds[key[3]], role)
            if problem:
                raise GenerateError(f"{field}: {ref}: {problem}")
            refs[f"steps.{key[1]}.results.{key[3]}"] = result_file(pipeline_task, key[1], key[3])
    return tuple(f"{name}={path}" for name, path in sorted(refs.items()))


def variables(index: int, names: list[str], declared: Declared) -> dict[Key, Deferred]:
    """The step results the `index`th step may use, left as references for its wrapper."""
    return {("steps", step, "results", result): Deferred(f"$(steps.{step}.results.{result})")
            for step in names[:index] for result in declared.get(step, {})}


def task_result_files(task: RawObject, where: str, declared: Declared,
                      pipeline_task: str = "") -> dict[str, tuple[str, ...]]:
    """step -> its `--result-file`s: the task results declared with `value: $(steps.<step>.results.<name>)`."""
    out: dict[str, list[str]] = {}
    for i, result in enumerate(task.get("results") or []):
        if "value" not in result:
            continue
        rw = f"{where}.results[{i}].value"
        value = result["value"]
        found = references(value) if isinstance(value, str) else []
        if len(found) != 1 or found[0][0] != value.strip() or len(found[0][1]) != 4 or found[0][1][0] != "steps" \
                or found[0][1][2] != "results":
            raise GenerateError(f"{rw}: {quote(value)} is not $(steps.<step>.results.<name>) (Tekton takes a task "
                                "result's value only from a step result)")
        _, (_, step, _, name) = found[0]
        if step not in declared:
            raise GenerateError(f"{rw}: {value}: no step {quote(step)}")
        kinds = declared[step]
        if name not in kinds:
            known = ", ".join(sorted(kinds)) or "none"
            raise GenerateError(f"{rw}: {value}: step {quote(step)} declares no result {quote(name)} (it declares: "
                                f"{known})")
        kind = result.get("type") or ("object" if result.get("properties") else "string")
        if kind != kinds[name]:
            raise GenerateError(f"{rw}: {value}: the task result is {kind}, the step result {kinds[name]}")
        out.setdefault(step, []).append(f"{result['name']}={result_file(pipeline_task, step, name)}")
    return {step: tuple(files) for step, files in out.items()}
