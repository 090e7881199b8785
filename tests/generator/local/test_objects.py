"""Secrets, ConfigMaps and PVCs taken from `doll run`'s input, and made for the local Pod
(generator/local/objects.py, materializing.py)."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.errors import GenerateError
from generator.local.materializing import materializing
from generator.local.objects import taking_objects

TASKRUN = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec: {taskRef: {name: t}}\n"


def test_input_without_such_objects_goes_to_the_translation_unchanged() -> None:
    sources = (("t.yaml", TASKRUN),)
    assert taking_objects(sources)[0] == sources


def test_objects_are_taken_out_and_a_claim_template_becomes_a_fresh_empty_volume() -> None:
    run = yaml.safe_load(TASKRUN)
    run["spec"]["workspaces"] = [{"name": "w", "volumeClaimTemplate": {"spec": {}}}]
    text = ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: eA==}\nstringData: {b: y}\n---\n"
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\nbinaryData: {z: AAE=}\n---\n"
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: p}\n---\n" + yaml.safe_dump(run))
    sources, objects = taking_objects((("all.yaml", text),))
    assert objects.secrets == {"s": {"a": b"x", "b": b"y"}} and objects.claims == {"p"}
    assert objects.config_maps == {"c": {"z": b"\x00\x01", "k": b"v"}} and objects.templates == ["w"]
    assert [where for where, _ in sources] == ["all.yaml: document 4"]
    assert yaml.safe_load(sources[0][1])["spec"]["workspaces"] == [{"name": "w", "emptyDir": {}}]


def test_a_secret_value_that_is_not_base64_is_refused_in_one_line() -> None:
    with pytest.raises(GenerateError, match=r"^x.yaml: document 1.data.a: not base64$"):
        taking_objects((("x.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: '!'}\n---\n"
                                   + TASKRUN),))


def test_given_objects_become_files_of_the_run_and_plain_env_values(tmp_path: Path) -> None:
    _, objects = taking_objects((("x.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
                                            "stringData: {a: '1', b: '2'}\n---\n" + TASKRUN),))
    pod: dict[str, Any] = {"spec": {"volumes": [
        {"name": "v", "secret": {"secretName": "s", "items": [{"key": "b", "path": "d/b", "mode": 0o600}]}},
        {"name": "other", "secret": {"secretName": "not-given"}}], "containers": [{
            "name": "c", "volumeMounts": [{"name": "v", "mountPath": "/v"}],
            "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "a"}}},
                    {"name": "N", "valueFrom": {"secretKeyRef": {"name": "s", "key": "no", "optional": True}}},
                    {"name": "O", "valueFrom": {"secretKeyRef": {"name": "not-given", "key": "k"}}}]}]}}
    materializing(pod, objects, tmp_path)
    host = Path(pod["spec"]["volumes"][0]["hostPath"]["path"])
    assert (host / "d" / "b").read_text() == "2" and stat.S_IMODE((host / "d" / "b").stat().st_mode) == 0o600
    assert not (host / "a").exists() and pod["spec"]["volumes"][1] == {"name": "other",
                                                                      "secret": {"secretName": "not-given"}}
    container = pod["spec"]["containers"][0]
    assert container["volumeMounts"][0]["readOnly"] is True
    assert container["env"] == [{"name": "A", "value": "1"},
                                {"name": "O", "valueFrom": {"secretKeyRef": {"name": "not-given", "key": "k"}}}]
    pod["spec"]["containers"][0]["env"] = [{"name": "M", "valueFrom": {"secretKeyRef": {"name": "s", "key": "m"}}}]
    with pytest.raises(GenerateError, match=r"^container 'c'.env\[0\].valueFrom.secretKeyRef: the Secret 's' has "
                                            r"no key 'm'$"):
        materializing(pod, objects, tmp_path)
