"""`doll generate` through the real CLI (a subprocess): output formats, stdin, and bad input in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

DOLL = str(Path(sys.executable).with_name("doll"))

GOOD = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: ok}
spec:
  params: [{name: who, value: world}]
  taskSpec:
    params: [{name: who, enum: [world, moon]}]
    steps:
      - {name: one, image: busybox, script: echo $(params.who)}
"""
TASK = """\
apiVersion: tekton.dev/v1beta1
kind: Task
metadata: {name: greet}
spec:
  params: [{name: who}, {name: list, type: array, default: []}]
  steps:
    - {name: one, image: busybox, command: [echo, $(params.who), "$(params.list[*])"]}
"""


def _doll(tmp_path: Path, *args: str, text: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if text is not None:
        (tmp_path / "run.yaml").write_text(textwrap.dedent(text))
    return subprocess.run([DOLL, "generate", "--no-registry-lookup", *args], cwd=tmp_path, input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_yaml_goes_to_stdout_with_the_pod_first(tmp_path: Path) -> None:
    result = _doll(tmp_path, "run.yaml", text=GOOD)
    assert result.returncode == 0 and result.stderr == ""
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["Pod"] and docs[0]["metadata"]["name"] == "ok-pod"


def test_json_output_with_rbac_is_a_list(tmp_path: Path) -> None:
    result = _doll(tmp_path, "-f", "run.yaml", "-o", "json", "--rbac", "--namespace", "ci", text=GOOD)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "List" and [o["kind"] for o in data["items"]] == ["ServiceAccount", "Role",
                                                                           "RoleBinding", "Pod"]


def test_a_bare_task_reads_from_stdin_with_params_from_the_command_line(tmp_path: Path) -> None:
    result = _doll(tmp_path, "-p", "who=you", "-p", "list=a,b", "--name", "greet-1", "--layout", "classic",
                   "-o", "json", stdin=TASK)
    assert result.returncode == 0, result.stderr
    pod = json.loads(result.stdout)
    step = [c for c in pod["spec"]["containers"] if c["name"] == "step-one"][0]
    assert step["args"][-4:] == ["echo", "you", "a", "b"]
    assert pod["metadata"]["name"] == "greet-1-pod"


def test_the_default_timeout_can_be_turned_off_on_the_command_line(tmp_path: Path) -> None:
    result = _doll(tmp_path, "run.yaml", "-o", "json", "--timeout", "0", text=GOOD)
    assert result.returncode == 0 and "activeDeadlineSeconds" not in json.loads(result.stdout)["spec"]
    result = _doll(tmp_path, "run.yaml", "-o", "json", "--timeout", "5m", text=GOOD)
    assert json.loads(result.stdout)["spec"]["activeDeadlineSeconds"] == 360


def test_linger_and_pushgateway_reach_the_supervisors_plan(tmp_path: Path) -> None:
    result = _doll(tmp_path, "run.yaml", "-o", "json", "--linger-seconds", "5",
                   "--pushgateway", "http://pushgateway.monitoring:9091", text=GOOD)
    assert result.returncode == 0, result.stderr
    init = json.loads(result.stdout)["spec"]["initContainers"][0]
    plan = json.loads([e["value"] for e in init["env"] if e["name"] == "DOLL_PLAN"][0])
    assert plan["linger_seconds"] == 5 and plan["pushgateway"] == "http://pushgateway.monitoring:9091"


OPTIONS = {
    "a namespace that is not a DNS label": (["--namespace", "Bad_NS"], "--namespace: 'Bad_NS' is not a DNS-1123 label"),
    "a negative linger": (["--linger-seconds", "-1"], "--linger-seconds: -1.0 is not a finite number of seconds >= 0"),
    "a linger of nan": (["--linger-seconds", "nan"], "--linger-seconds: nan is not a finite number of seconds >= 0"),
    "an endless linger": (["--linger-seconds", "inf"], "--linger-seconds: inf is not a finite number of seconds >= 0"),
    "a metrics port out of range": (["--metrics-port", "99999"], "--metrics-port: 99999 is not 1-65535"),
    "a pushgateway that is not a URL": (["--pushgateway", "pushgateway:9091"],
                                        "--pushgateway: 'pushgateway:9091' is not an http:// or https:// URL"),
    "a negative cache ttl": (["--cache-ttl", "-1"], "--cache-ttl: -1.0 is not a finite number of seconds >= 0"),
    "a cache ttl of nan": (["--cache-ttl", "nan"], "--cache-ttl: nan is not a finite number of seconds >= 0"),
    "an endless cache ttl": (["--cache-ttl", "inf"], "--cache-ttl: inf is not a finite number of seconds >= 0"),
}


@pytest.mark.parametrize("case", OPTIONS, ids=list(OPTIONS))
def test_a_bad_option_value_is_one_line_naming_the_option_not_the_input(tmp_path: Path, case: str) -> None:
    args, message = OPTIONS[case]
    result = _doll(tmp_path, "run.yaml", *args, text=GOOD)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"doll generate: {message}\n")


@pytest.mark.parametrize("args", [["--names", "ci"], ["--rb"], ["--cache-t", "5"]])
def test_an_abbreviated_option_is_refused_in_one_line_not_taken_for_the_option(tmp_path: Path,
                                                                                args: list[str]) -> None:
    result = _doll(tmp_path, "run.yaml", *args, text=GOOD)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"doll generate: unrecognized arguments: {' '.join(args)}\n"


def test_a_harmless_difference_is_a_warning_on_stderr(tmp_path: Path) -> None:
    result = _doll(tmp_path, "run.yaml", text=GOOD.replace("spec:\n", "spec:\n  retries: 2\n", 1))
    assert result.returncode == 0
    assert result.stderr == "doll generate: warning: run.yaml: spec.retries: ignored (doll runs the Pod once)\n"


BAD = {
    "malformed yaml": (GOOD.replace("metadata: {name: ok}", "metadata: {name: ok"), [],
                       "run.yaml: malformed YAML: line 4: did not find expected ',' or '}'"),
    "wrong kind": (GOOD.replace("kind: TaskRun", "kind: Condition"), [],
                   "run.yaml: kind: 'Condition' is not supported (doll runs a Task, TaskRun, Pipeline or PipelineRun)"),
    "a TaskRun's spec under kind Pipeline": (GOOD.replace("kind: TaskRun", "kind: Pipeline"), [],
                                             "run.yaml: spec.taskSpec: not supported by doll"),
    "wrong apiVersion": (GOOD.replace("tekton.dev/v1", "tekton.dev/v1alpha1"), [],
                         "run.yaml: apiVersion: 'tekton.dev/v1alpha1' is not supported for a TaskRun (tekton.dev/v1 or "
                         "tekton.dev/v1beta1)"),
    "a step name taken by an unnamed step": (GOOD + "      - {image: busybox, script: x}\n"
                                             "      - {name: unnamed-1, image: busybox, script: x}\n", [],
                                             "run.yaml: spec.taskSpec.steps[2].name: duplicate 'unnamed-1'"),
    "duplicate step name": (GOOD + "      - {name: one, image: busybox, script: x}\n", [],
                            "run.yaml: spec.taskSpec.steps[1].name: duplicate 'one'"),
    "non-DNS step name": (GOOD.replace("name: one", "name: Step_One"), [],
                          "run.yaml: spec.taskSpec.steps[0].name: 'Step_One' is not a DNS-1123 label"),
    "non-DNS run name": (GOOD.replace("{name: ok}", "{name: OK!}"), [],
                         "run.yaml: metadata.name: 'OK!' is not a DNS-1123 name"),
    "missing image": (GOOD.replace("image: busybox, ", ""), [], "run.yaml: spec.taskSpec.steps[0].image: missing"),
    "unknown param on the command line": (GOOD, ["-p", "nope=1"],
                                          "-p nope: unknown param 'nope' (the task declares: who)"),
    "a declared param left without a value": (GOOD.replace("{name: who, value: world}", "{name: whom, value: x}"),
                                              [], "run.yaml: spec: param 'who': no value (give it with spec.params)"),
    "type mismatch": (GOOD.replace("value: world", "value: [a, b]"), [],
                      "run.yaml: spec.params[0]: type mismatch: ['a', 'b'] given for a string param"),
    "enum": (GOOD.replace("value: world", "value: mars"), [],
             "run.yaml: spec.taskSpec.params[0]: value 'mars' is not in enum ['world', 'moon']"),
    "unresolvable variable": (GOOD.replace("echo $(params.who)", "echo $(params.nope)"), [],
                              "run.yaml: spec.taskSpec.steps[0].script: $(params.nope) cannot be resolved "
                              "(no param 'nope')"),
    "unsupported field": (GOOD.replace("script: echo", "lifecycle: {}, script: echo"), [],
                          "run.yaml: spec.taskSpec.steps[0].lifecycle: not supported by doll"),
    "unknown TaskRun field": (GOOD.replace("  taskSpec:", "  taskRef: {name: build}\n  x:"), [],
                     "run.yaml: spec.x: not supported by doll"),
    "taskRef to a task not given": (GOOD.split("  taskSpec:")[0] + "  taskRef: {name: build}\n", [],
                                    "run.yaml: spec.taskRef.name: task 'build' is not among the given files"),
    "bad -p": (GOOD, ["-p", "who"], "-p who: expected NAME=VALUE"),
    "script and command": (GOOD.replace("script:", "command: [x], script:"), [],
                           "run.yaml: spec.taskSpec.steps[0]: both script and command (give one)"),
    "missing required param": (GOOD.replace("  params: [{name: who, value: world}]\n", ""), [],
                               "run.yaml: spec: param 'who': no value (give it with spec.params)"),
    "properties that are a number": (GOOD.replace("enum: [world, moon]", "type: object, properties: 5"), [],
                                     "run.yaml: spec.taskSpec.params[0].properties: expected an object, got 5"),
    "properties that are a string": (GOOD.replace("enum: [world, moon]", "properties: url"), [],
                                     "run.yaml: spec.taskSpec.params[0].properties: expected an object, got 'url'"),
    "bad timeout": (GOOD.replace("spec:\n", "spec:\n  timeout: soon\n", 1), [],
                    "run.yaml: spec.timeout: 'soon' is not a duration (like 90s, 1h30m)"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_exit_2_and_nothing_on_stdout(tmp_path: Path, case: str) -> None:
    text, args, message = BAD[case]
    result = _doll(tmp_path, "run.yaml", *args, text=text)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"doll generate: {message}\n"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    result = _doll(tmp_path, "nope.yaml")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "doll generate: nope.yaml: cannot read: No such file or directory\n"


def test_a_bad_option_is_one_line(tmp_path: Path) -> None:
    result = _doll(tmp_path, "--layout", "sideways", "run.yaml", text=GOOD)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("doll generate: argument --layout: invalid choice: 'sideways'")
    assert result.stderr.count("\n") == 1


def test_help_says_which_layout_is_the_default_and_why(tmp_path: Path) -> None:
    result = subprocess.run([DOLL, "generate", "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "native (default)" in text and "classic: plain containers, for podman" in text


SHAPES = {
    "a step env that is not a list": ("env: [{name: A, value: b}]", "env: x",
                                      "run.yaml: spec.taskSpec.steps[0].env: expected a list, got 'x'"),
    "an env entry without a name": ("env: [{name: A, value: b}]", "env: [{value: b}]",
                                    "run.yaml: spec.taskSpec.steps[0].env[0].name: missing"),
    "volumeMounts that are not a list": ("env: [{name: A, value: b}]", "volumeMounts: x",
                                         "run.yaml: spec.taskSpec.steps[0].volumeMounts: expected a list, got 'x'"),
    "an unquoted number as an env value": ("env: [{name: A, value: b}]", "env: [{name: A, value: 8080}]",
                                           "run.yaml: spec.taskSpec.steps[0].env[0].value: expected a string, "
                                           "got 8080 (quote it)"),
    "a mount named by a list": ("env: [{name: A, value: b}]", "volumeMounts: [{name: [x], mountPath: /x}]",
                                "run.yaml: spec.taskSpec.steps[0].volumeMounts[0].name: expected a string, "
                                "got ['x']"),
    "a bad pull policy": ("env: [{name: A, value: b}]", "imagePullPolicy: Sometimes",
                          "run.yaml: spec.taskSpec.steps[0].imagePullPolicy: 'Sometimes' is not one of Always, "
                          "IfNotPresent, Never"),
}


@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_a_field_of_the_wrong_shape_is_refused_not_passed_on(tmp_path: Path, case: str) -> None:
    good, bad, message = SHAPES[case]
    text = GOOD.replace("script: echo $(params.who)}", f"script: echo $(params.who), {good}}}")
    assert _doll(tmp_path, "run.yaml", text=text).returncode == 0
    result = _doll(tmp_path, "run.yaml", text=text.replace(good, bad))
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"doll generate: {message}\n")


def test_a_pod_template_field_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    result = _doll(tmp_path, "run.yaml", text=GOOD.replace("spec:\n", "spec:\n  podTemplate: {env: x}\n", 1))
    assert result.stderr == "doll generate: run.yaml: spec.podTemplate.env: expected a list, got 'x'\n"
    assert result.returncode == 2


def test_an_image_missing_from_the_map_and_an_unreachable_registry_is_one_line(tmp_path: Path) -> None:
    import socket
    with socket.socket() as s:  # a port nothing listens on: the registry is unreachable
        s.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{s.getsockname()[1]}"
    (tmp_path / "map.yaml").write_text("busybox: {entrypoint: [sh]}\n")
    (tmp_path / "run.yaml").write_text(GOOD.replace("image: busybox, script: echo $(params.who)",
                                                    f"image: {host}/x/y:1"))
    result = subprocess.run([DOLL, "generate", "--image-map", "map.yaml", "--insecure-registry", host, "run.yaml"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # no "Unclosed client session" after it
    assert "unreachable" in result.stderr
