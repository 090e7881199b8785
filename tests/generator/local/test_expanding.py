"""`$(VAR)` in env values expanded as a kubelet does (generator/local/expanding.py), podman 4.3 does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from generator.local.expanding import expand, expanding_env
from generator.local.localizing import localize


def test_a_reference_to_a_variable_defined_earlier_in_the_env_is_expanded() -> None:
    container: dict[str, Any] = {"env": [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)-2"},
                                         {"name": "C", "value": "$(B)/$(A)"}]}
    expanding_env(container)
    assert [e["value"] for e in container["env"]] == ["x", "x-2", "x-2/x"]


def test_escaped_undefined_later_and_unclosed_references_stay_as_the_kubelet_leaves_them() -> None:
    container: dict[str, Any] = {"env": [
        {"name": "E", "value": "$$(A) $(A) $(LATER) $(OPEN $$ $x $"}, {"name": "A", "value": "a"},
        {"name": "LATER", "value": "l"}, {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "G", "value": "$(F)"}]}
    expanding_env(container)
    assert container["env"][0]["value"] == "$(A) $(A) $(LATER) $(OPEN $ $x $"
    assert container["env"][4]["value"] == "$(F)"  # podman resolves F: not known here


def test_expansion_follows_the_kubelets_cases() -> None:  # expand_test.go's cases, a few
    defined = {"VAR_A": "A", "VAR_B": "B", "VAR_EMPTY": ""}
    assert expand("$(VAR_A)$(VAR_B)", defined) == "AB"
    assert expand("___$(VAR_EMPTY)___", defined) == "______"
    assert expand("$$$(VAR_A)", defined) == "$A"
    assert expand("$$$$(VAR_A)", defined) == "$$(VAR_A)"
    assert expand("$(VAR_A", defined) == "$(VAR_A"
    assert expand("$()", defined) == "$()"
    assert expand("f000-$$VAR_A", defined) == "f000-$VAR_A"


def test_the_local_pods_env_is_expanded_before_podman_plays_it(tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [
        {"name": "step-s", "env": [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)-2"}]}]}}
    local = localize(pod, tmp_path, None)
    assert local.pod["spec"]["containers"][0]["env"][1] == {"name": "B", "value": "x-2"}
    assert pod["spec"]["containers"][0]["env"][1]["value"] == "$(A)-2"  # doll generate's Pod: unchanged


def test_command_and_args_are_expanded_with_the_containers_env_as_the_kubelet_does() -> None:
    container: dict[str, Any] = {"command": ["echo", "$(A)", "$$(A)"], "args": ["$(B)", "$(NONE)"],
                                 "env": [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)-2"}]}
    expanding_env(container)
    assert (container["command"], container["args"]) == (["echo", "x", "$(A)"], ["x-2", "$(NONE)"])
