"""Params: string, array and object; defaults, enums, and every way of referring to them."""

from __future__ import annotations

import json

import pytest
from generated import container, gen, pod_of, wrapped_command

from generator.errors import GenerateError

TASK = """
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: params}
spec:
  params:
    - {name: greeting, default: hello}
    - {name: who}
    - {name: flags, type: array, default: [-v]}
    - name: target
      type: object
      properties: {host: {}, port: {}}
      default: {host: localhost, port: "80"}
    - {name: mode, enum: [fast, slow], default: fast}
  steps:
    - name: show
      image: busybox
      command: [echo]
      args:
        - "$(params.greeting) $(params.who)"
        - "$(params.flags[*])"
        - $(params.target.host):$(params['target'].port)
        - first=$(params.flags[0])
        - $(params["mode"])
"""


def _args_of(text: str, params: dict[str, str]) -> list[str]:
    return wrapped_command(container(pod_of(text, params, name="p"), "step-show"))


def _args(params: dict[str, str]) -> list[str]:
    return _args_of(TASK, params)


def test_strings_defaults_arrays_and_object_keys_are_substituted() -> None:
    assert _args({"who": "world"}) == ["echo", "hello world", "-v", "localhost:80", "first=-v", "fast"]


def test_command_line_values_override_defaults_arrays_as_a_list_or_json() -> None:
    assert _args({"who": "w", "flags": "-a,-b", "mode": "slow"})[2:4] == ["-a", "-b"]
    assert _args({"who": "w", "flags": '["x y", "z"]'})[2:4] == ["x y", "z"]


def test_an_object_value_replaces_the_keys_it_gives() -> None:
    assert _args({"who": "w", "target": '{"host": "db"}'})[3] == "db:80"


def test_a_whole_array_in_a_string_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"steps\[0\].args\[0\]: \$\(params.flags\) is an array or object"):
        gen(TASK.replace("$(params.greeting) $(params.who)", "x $(params.flags)"), {"who": "w"})


def test_an_enum_violation_names_the_param() -> None:
    with pytest.raises(GenerateError, match=r"spec.params\[4\]: value 'medium' is not in enum"):
        gen(TASK, {"who": "w", "mode": "medium"})


def test_an_object_param_missing_a_declared_key_is_refused() -> None:
    text = TASK.replace('default: {host: localhost, port: "80"}', "")
    with pytest.raises(GenerateError, match="object param 'target' lacks keys"):
        gen(text, {"who": "w", "target": '{"host": "db"}'})


def test_an_object_param_with_a_dot_in_its_name_is_refused_as_tekton_does() -> None:
    with pytest.raises(GenerateError, match=r"^run.yaml: spec.params\[3\].name: 'tar.get' is not an object param "
                                            r"name \(letters, digits, _ -; no dots\)$"):
        gen(TASK.replace("name: target", "name: tar.get"), {"who": "w"})
    text = TASK.replace("name: greeting", "name: greet.ing").replace("params.greeting", "params['greet.ing']")
    assert _args_of(text, {"who": "w"})[1] == "hello w"  # a string param's name may have dots


def test_a_param_with_properties_and_no_type_is_an_object_as_in_tekton() -> None:
    text = TASK.replace("      type: object\n", "").replace('      default: {host: localhost, port: "80"}\n', "")
    assert _args_of(text, {"who": "w", "target": '{"host": "db", "port": "5432"}'})[3] == "db:5432"
    with pytest.raises(GenerateError, match=r"^-p target: 'db' is not a JSON object$"):
        gen(text, {"who": "w", "target": "db"})


def test_a_typed_param_given_the_wrong_shape_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"-p target: type mismatch: \['a'\] given for an object param"):
        gen(TASK, {"who": "w", "target": '["a"]'})


def test_an_index_out_of_range_cannot_be_resolved() -> None:
    with pytest.raises(GenerateError, match=r"\$\(params.flags\[3\]\) cannot be resolved"):
        gen(TASK.replace("first=$(params.flags[0])", "$(params.flags[3])"), {"who": "w"})


def test_shell_command_substitution_in_a_script_is_left_alone() -> None:
    text = TASK.replace("      command: [echo]\n      args:", "      script: echo $(date) $(params.who)\n      x:")
    text = text.split("      x:")[0]
    pod = pod_of(text, {"who": "me"})
    env = {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}
    assert json.loads(env["DOLL_SCRIPT_0"]).endswith("echo $(date) me")


def test_a_whole_object_param_as_an_argument_is_refused() -> None:
    with pytest.raises(GenerateError, match=r"args\[0\]: \$\(params.target\) is an object param; use its keys"):
        gen(TASK.replace('"$(params.greeting) $(params.who)"', "$(params.target)"), {"who": "w"})
