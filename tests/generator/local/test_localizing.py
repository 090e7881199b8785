"""Adapting a generated Pod to podman 4.3 (generator/local/localizing.py), on Pods `doll generate` makes from
real tasks; what podman then does with them is in tests/e2e/test_e2e_localizing.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from corpus import CORPUS, images, load
from generated import gen

from generator.local.localizing import LocalizeError, localize
from generator.tekton.generating import GenerateOptions, generate


def _catalog_task_with_one_step(name: str) -> str:
    """The catalog task's own metadata (its annotations as published) with one plain step."""
    task = yaml.safe_load((CORPUS / name / f"{name}.yaml").read_text())
    task["spec"] = {"steps": [{"name": "s", "image": "busybox", "command": ["true"]}]}
    return yaml.safe_dump(task)


def test_annotations_podman_refuses_are_left_out_of_the_local_pod_only_with_one_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pod: dict[str, Any] = gen(_catalog_task_with_one_step("rhacs-m2m-authenticate"), layout="classic")[0]
    local = localize(pod, tmp_path, None)
    annotations = local.pod["metadata"]["annotations"]
    assert "tekton.dev/platforms" not in annotations and "tekton.dev/displayName" not in annotations
    assert annotations["tekton.dev/categories"] == "Security" and annotations["prometheus.io/scrape"] == "true"
    assert all(len(value.encode()) <= 63 for value in annotations.values())
    assert len(pod["metadata"]["annotations"]["tekton.dev/platforms"]) > 63  # what doll generate gives: unchanged
    warnings = [r.getMessage() for r in caplog.records if r.name == "doll.generate"]
    assert warnings == ["metadata.annotations tekton.dev/displayName, tekton.dev/platforms: values over 63 bytes, "
                        "which podman 4.3 kube play refuses; left out of the local pod (annotations do not "
                        "affect the run)"]


def test_a_pod_whose_annotations_podman_takes_is_localized_without_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pod: dict[str, Any] = gen(_catalog_task_with_one_step("git-clone"), layout="classic")[0]
    local = localize(pod, tmp_path, None)
    assert local.pod["metadata"]["annotations"] == pod["metadata"]["annotations"]
    assert [r for r in caplog.records if r.name == "doll.generate"] == []


def _catalog_pod(name: str, tmp_path: Path) -> dict[str, Any]:
    """The catalog task's Pod as `doll run` generates it (its step images given an entrypoint)."""
    task = load(CORPUS / name / f"{name}.yaml")
    image_map = tmp_path / "images.yaml"
    image_map.write_text(yaml.safe_dump({image: {"entrypoint": ["/tool"]} for image in images([task.path])}))
    pod: dict[str, Any] = generate(task.sources, task.params, GenerateOptions(
        layout="classic", registry=None, image_map=str(image_map)))[0]
    return pod


@pytest.mark.parametrize("task", ["rhacs-generic", "rhacs-m2m-authenticate"])
def test_a_catalog_task_with_a_projected_volume_is_refused_up_front_in_one_line(tmp_path: Path, task: str) -> None:
    pod = _catalog_pod(task, tmp_path)
    index = [v["name"] for v in pod["spec"]["volumes"]].index("token-vol")  # the task's own volume
    assert "projected" in pod["spec"]["volumes"][index]  # as `doll generate` gives it to a cluster
    with pytest.raises(LocalizeError) as refused:
        localize(pod, tmp_path / "run", None)
    assert str(refused.value) == (
        f"the pod's spec.volumes[{index}].projected (volume 'token-vol'): not supported by podman 4.3 kube play, "
        "which runs only hostPath, emptyDir, configMap, secret, persistentVolumeClaim volumes")
    assert not (tmp_path / "run").exists()  # refused before any of its volumes was made


@pytest.mark.parametrize("binding", ["csi: {driver: secrets-store.csi.k8s.io}",
                                     "projected: {sources: [{configMap: {name: ca}}]}"])
def test_a_workspace_bound_to_a_volume_podman_cannot_make_is_refused_naming_it(tmp_path: Path, binding: str) -> None:
    pod = gen(f"""
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {{name: r}}
        spec:
          workspaces: [{{name: certs, {binding}}}]
          taskSpec:
            workspaces: [{{name: certs}}]
            steps: [{{name: s, image: busybox, command: ["true"]}}]
        """, layout="classic")[0]
    index = [v["name"] for v in pod["spec"]["volumes"]].index("doll-ws-certs")
    with pytest.raises(LocalizeError, match=re.escape(
            f"the pod's spec.volumes[{index}].{binding.split(':')[0]} (volume 'doll-ws-certs'): not supported")):
        localize(pod, tmp_path, None)


@pytest.mark.parametrize("source", [{"emptyDir": {}}, {"hostPath": {"path": "/srv/cache", "type": "Directory"}},
                                    {"configMap": {"name": "ca"}}, {"secret": {"secretName": "creds"}},
                                    {"persistentVolumeClaim": {"claimName": "cache"}}])
def test_the_volumes_podman_makes_are_localized(tmp_path: Path, source: dict[str, Any]) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [], "volumes": [{"name": "v", **source}]}}
    local = localize(pod, tmp_path, None)
    assert [v["name"] for v in local.pod["spec"]["volumes"]] == ["v"]


def test_a_secret_volume_gets_its_optional_written_out_which_podman_4_3_cannot_do_without(tmp_path: Path) -> None:
    pod = gen("""
        apiVersion: tekton.dev/v1
        kind: TaskRun
        metadata: {name: r}
        spec:
          workspaces: [{name: creds, secret: {secretName: git-creds}}, {name: ca, secret: {secretName: ca, optional: true}}]
          taskSpec:
            workspaces: [{name: creds}, {name: ca}]
            steps: [{name: s, image: busybox, command: ["true"]}]
        """, layout="classic")[0]
    secrets = {v["name"]: v["secret"] for v in localize(pod, tmp_path, None).pod["spec"]["volumes"] if "secret" in v}
    assert secrets == {"doll-ws-creds": {"secretName": "git-creds", "optional": False},
                       "doll-ws-ca": {"secretName": "ca", "optional": True}}
    assert "optional" not in next(v for v in pod["spec"]["volumes"] if v["name"] == "doll-ws-creds")["secret"]
