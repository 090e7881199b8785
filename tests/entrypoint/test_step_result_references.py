"""Step results a step uses, `$(steps.<step>.results.<name>)`: replaced by the wrapper in its command and env."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from entrypoint_helpers import run_wrapper, step_args

from contracts import exits
from entrypoint.references import Resolver, Unresolved, value_of


def _resolver(tmp_path: Path, **files: str) -> Resolver:
    refs = []
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        refs.append(f"steps.a.results.{name}={tmp_path / name}")
    return Resolver(tuple(refs))


def test_a_result_file_is_read_as_tekton_reads_a_result_value() -> None:
    """pkg/entrypoint/entrypointer.go loadStepResult: ResultValue.UnmarshalJSON (an array or object of strings, a
    JSON string, else the bytes as they are)."""
    assert value_of('["a", "b c"]') == ["a", "b c"]
    assert value_of('{"k": "v"}') == {"k": "v"}
    assert value_of('"quoted"') == "quoted"
    assert value_of("plain text\n") == "plain text\n"
    assert value_of("[1, 2]") == "[1, 2]" and value_of("42") == "42" and value_of("") == ""


def test_strings_indexes_keys_and_whole_arrays_are_replaced(tmp_path: Path) -> None:
    """entrypointer.go findReplacement and replaceCommandAndArgs: `[*]` as a whole element becomes several,
    `[i]` one element, `.key` one value of an object, several references in one word each replaced."""
    r = _resolver(tmp_path, s="hello", arr='["x y", "z"]', obj='{"k": "v"}')
    command = ("echo", "$(steps.a.results.arr[*])", "$(steps.a.results.arr[1])", "<$(steps.a.results.s)-"
               "$(steps.a.results.obj.k)>", "$(steps.other.results.s)")
    assert r.command(command) == ("echo", "x y", "z", "z", "<hello-v>", "$(steps.other.results.s)")
    assert r.env({"A": "$(steps.a.results.s)!", "B": "$(HOME)", "C": "$(steps.a.results.arr[0])"}) == \
        {"A": "hello!", "B": "$(HOME)", "C": "x y"}


def test_a_result_named_with_a_dot_is_not_taken_for_an_objects_key(tmp_path: Path) -> None:
    (tmp_path / "x.y").write_text("dotted")
    (tmp_path / "x").write_text('{"y": "key"}')
    r = Resolver((f"steps.a.results.x={tmp_path / 'x'}", f"steps.a.results.x.y={tmp_path / 'x.y'}"))
    assert r.command(("$(steps.a.results.x.y)",)) == ("dotted",)


@pytest.mark.parametrize("word, message", [
    ("$(steps.a.results.gone)", r"\$\(steps.a.results.gone\): no such step result \(.*/gone does not exist\)"),
    ("$(steps.a.results.arr[5])", r"index 5 out of range \(the array has 2\)"),
    ("$(steps.a.results.obj.nope)", r"the object has no key 'nope'"),
    ("$(steps.a.results.arr)", r"\$\(steps.a.results.arr\): the result is an array"),
    ("-$(steps.a.results.arr[*])", r"command\[0\]: .* is a whole array"),
])
def test_what_cannot_be_replaced_is_an_error_naming_it(tmp_path: Path, word: str, message: str) -> None:
    """Tekton's entrypoint logs these and runs the command with the reference left in it (entrypointer.go Go:
    "Error while substituting step results"); doll's wrapper fails the step instead."""
    r = _resolver(tmp_path, arr='["x", "y"]', obj='{"k": "v"}')
    r.files["steps.a.results.gone"] = str(tmp_path / "gone")
    r = Resolver(tuple(f"{k}={v}" for k, v in r.files.items()))
    with pytest.raises(Unresolved, match=message):
        r.command((word,))


def test_a_step_runs_its_command_with_an_earlier_steps_results(tmp_path: Path) -> None:
    """entrypointer.go Go: applyStepResultSubstitutions before Runner.Run, env included (replaceEnv)."""
    results = tmp_path / "step-a" / "results"
    results.mkdir(parents=True)
    (results / "word").write_text("hi there")
    (results / "list").write_text('["1", "2 3"]')
    refs = ["--result-ref", f"steps.a.results.word={results / 'word'}",
            "--result-ref", f"steps.a.results.list={results / 'list'}"]
    out = tmp_path / "seen"
    done = run_wrapper(*step_args(tmp_path, "b", 1), *refs, "--", "sh", "-c",
                       f'printf "%s|" "$WORD" "$@" > {out}', "sh", "$(steps.a.results.list[*])",
                       "[$(steps.a.results.word)]", env={"WORD": "w=$(steps.a.results.word)", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "w=hi there|1|2 3|[hi there]|"


def test_a_missing_step_result_fails_the_step_before_its_command_runs(tmp_path: Path) -> None:
    out = tmp_path / "ran"
    done = run_wrapper(*step_args(tmp_path, "b", 1), "--result-ref",
                       f"steps.a.results.word={tmp_path / 'step-a' / 'results' / 'word'}", "--", "sh", "-c",
                       f"touch {out}", "$(steps.a.results.word)")
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    assert not out.exists()
    assert "step results: $(steps.a.results.word): no such step result" in done.stderr
    record = json.loads((tmp_path / "step-b" / "out.err").read_text())
    assert record["exit_code"] == exits.EXIT_WRAPPER_ERROR and "no such step result" in record["message"]


def test_a_task_result_taken_from_a_step_result_is_reported_with_the_task_results(tmp_path: Path) -> None:
    """pkg/pod/status.go createTaskResultsFromStepResults: the task result gets the step result's value."""
    own = tmp_path / "step-a" / "results"
    own.mkdir(parents=True)
    done = run_wrapper(*step_args(tmp_path, "a", 0, results_dir=str(tmp_path / "results")), "--result", "plain",
                       "--result-file", f"greeting={own / 'word'}", "--", "sh", "-c", f"printf hello > {own}/word")
    assert done.returncode == 0, done.stderr
    term = json.loads((tmp_path / "step-a" / "termination").read_text())
    assert term[0] == {"key": "greeting", "value": "hello", "type": 1}
    assert json.loads((tmp_path / "step-a" / "out").read_text())["results"] == {"greeting": "hello"}


def test_the_references_module_costs_a_plain_step_nothing_and_brings_no_heavy_import() -> None:
    """Imported only by a step given --result-ref, and then only the shared value forms (contracts.ref_values,
    itself json and re, which every start has already: the wrapper's start budget, contracts/freezing.py,
    tests/contracts/test_options.py)."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import entrypoint.main, entrypoint.stepping; "
            "before = set(sys.modules); assert 'entrypoint.references' not in before; import entrypoint.references; "
            "print(' '.join(sorted(set(sys.modules) - before - {'entrypoint.references'})))")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-S", "-c", code, root], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "contracts.ref_values"


def test_a_script_written_before_the_values_existed_runs_with_its_references_replaced(tmp_path: Path) -> None:
    """A pipeline task's `$(tasks.a.results.tag)` in a script: init wrote the script before the value existed
    (Tekton replaces it in the TaskRun's spec, before the Pod exists); the wrapper runs a copy with it replaced,
    private to the step (0700 in its own directory), and leaves the script itself as init wrote it."""
    scripts, values = tmp_path / "scripts", tmp_path / "values"
    scripts.mkdir()
    values.mkdir()
    (values / "tasks.a.results.tag").write_text(json.dumps("v1.2"))
    (values / "tasks.a.results.tags").write_text(json.dumps(["x", "y"]))
    out = tmp_path / "seen"
    script = scripts / "step-b"
    script.write_text(f'#!/bin/sh\necho "tag=$(tasks.a.results.tag) first=$(tasks.a.results.tags[0])" > {out}\n')
    script.chmod(0o755)
    (tmp_path / "step-b").mkdir()
    done = run_wrapper(*step_args(tmp_path, "b", 1, scripts_dir=str(scripts)),
                       "--result-ref", f"tasks.a.results.tag={values / 'tasks.a.results.tag'}",
                       "--result-ref", f"tasks.a.results.tags={values / 'tasks.a.results.tags'}", "--", str(script))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == "tag=v1.2 first=x\n"
    assert "$(tasks.a.results.tag)" in script.read_text()
    copy = tmp_path / "step-b" / "script"
    assert copy.stat().st_mode & 0o777 == 0o700


def test_a_script_reference_that_cannot_be_replaced_fails_the_step_before_it_runs(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    out = tmp_path / "ran"
    script = scripts / "step-b"
    script.write_text(f"#!/bin/sh\ntouch {out}\necho $(tasks.a.results.gone)\n")
    script.chmod(0o755)
    done = run_wrapper(*step_args(tmp_path, "b", 1, scripts_dir=str(scripts)),
                       "--result-ref", f"tasks.a.results.gone={tmp_path / 'nothing'}", "--", str(script))
    assert done.returncode == exits.EXIT_WRAPPER_ERROR and not out.exists()
    assert "$(tasks.a.results.gone)" in done.stderr
