"""A Pod adapted by generator/local/localizing.py behaves under podman 4.3 as it would under a kubelet."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from generator.local import podman
from generator.local.localizing import LocalizeError, localize
from generator.local.pod_watching import fetching

pytestmark = pytest.mark.podman


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _pod(name: str, image: str) -> dict[str, Any]:
    def step(step: str, script: str) -> dict[str, Any]:
        return {"name": f"step-{step}", "image": image, "command": ["sh", "-c", script],
                "securityContext": {"runAsUser": 65532, "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "doll-steps", "mountPath": "/tekton/steps", "readOnly": True},
                                 {"name": "doll-steps", "mountPath": f"/tekton/steps/step-{step}",
                                  "subPath": f"step-{step}"},
                                 {"name": "ws", "mountPath": "/workspace"}]}
    platforms = "linux/amd64,linux/arm64,linux/ppc64le,linux/s390x,darwin/amd64,darwin/arm64,windows/amd64"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {  # podman refuses an annotation over 63 bytes
        "name": name, "annotations": {"tekton.dev/platforms": platforms, "tekton.dev/tags": "git"}}, "spec": {
        "restartPolicy": "Never",
        "initContainers": [{"name": "doll-init", "image": image, "command": [
            "sh", "-c", "mkdir -p /tekton/steps/step-a /tekton/steps/step-b && ln -s step-a /tekton/steps/0"],
            "volumeMounts": [{"name": "doll-steps", "mountPath": "/tekton/steps"}]}],
        "containers": [
            {"name": "doll-supervisor", "image": image, "command": ["httpd", "-f", "-p", "9090", "-h", "/www"],
             "ports": [{"name": "doll-metrics", "containerPort": 9090}]},
            step("a", "echo 0 > /tekton/steps/step-a/exitCode; echo a > /workspace/from-a;"
                      " echo x > /tekton/steps/step-b/exitCode 2>/dev/null || echo a-cannot-write-b;"
                      " echo '[{\"key\":\"r\",\"value\":\"1\"}]' > /dev/termination-log"),
            step("b", "sleep 1; cat /tekton/steps/0/exitCode /workspace/from-a"),
        ],
        "volumes": [{"name": "doll-steps", "emptyDir": {}}, {"name": "ws", "emptyDir": {}}],
    }}


def _wait_exited(pod: str, names: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = podman.pod_containers(pod)
        if all(states.get(n) == "exited" for n in names):
            return
        time.sleep(0.2)
    raise AssertionError(f"{pod}: containers still running after {timeout} s: {states}")


def test_a_localized_pod_gives_each_step_its_own_writable_directory_and_a_termination_file(
        tmp_path: Path, busybox_image: str, pods: list[str]) -> None:
    name = "doll-e2e-localize"
    port = _free_port()
    local = localize(_pod(name, busybox_image), tmp_path / "run", port)
    pods.append(name)
    podman.playing(json.dumps(local.pod))
    deadline = time.monotonic() + 30  # kube play returns once the containers are started, not yet listening
    while (page := fetching(port, "/index.html")) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert page == b"hello from the sidecar\n"  # published on 127.0.0.1
    _wait_exited(name, ["step-a", "step-b"])
    steps_dir = local.volumes["doll-steps"]
    assert (steps_dir / "step-a" / "exitCode").read_text() == "0\n"
    assert not (steps_dir / "exitCode").exists() and not (steps_dir / "step-b" / "exitCode").exists()
    assert "a-cannot-write-b" in podman.logs(f"{name}-step-a")
    assert podman.logs(f"{name}-step-b").split() == ["0", "a"]  # the index symlink and the workspace
    assert json.loads(local.termination_files["step-a"].read_text()) == [{"key": "r", "value": "1"}]
    volumes = subprocess.run(["podman", "volume", "ls", "--format", "{{.Name}}"], capture_output=True,
                             text=True, check=True).stdout.split()
    assert "doll-steps" not in volumes and "ws" not in volumes  # no named volume shared between pods


def test_a_pod_with_a_downward_api_volume_is_refused_in_one_line(tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [], "volumes": [
        {"name": "info", "downwardAPI": {"items": []}}]}}
    with pytest.raises(LocalizeError, match=r"^the pod's spec.volumes\[0\].downwardAPI \(volume 'info'\): not "
                                            "supported by podman 4.3 kube play, which runs only hostPath, "):
        localize(pod, tmp_path, None)


def test_a_sub_path_escaping_its_volume_is_refused(tmp_path: Path) -> None:
    pod = {"metadata": {"name": "p"}, "spec": {"volumes": [{"name": "v", "emptyDir": {}}], "containers": [
        {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x", "subPath": "../../etc"}]}]}}
    with pytest.raises(LocalizeError, match="subPath: '../../etc' must be a relative path without '..'"):
        localize(pod, tmp_path, None)


def test_a_localized_secret_volume_without_optional_is_played_not_crashed_on(
        tmp_path: Path, busybox_image: str, pods: list[str]) -> None:
    name, secret = "doll-e2e-localize-secret", "doll-e2e-localize-secret-data"
    # podman 4.3 reads a Kubernetes Secret from a podman secret; its data values arrive as written (not decoded)
    (tmp_path / "secret.yaml").write_text(json.dumps({"apiVersion": "v1", "kind": "Secret",
                                                      "metadata": {"name": secret}, "data": {"user": "alice"}}))
    podman.podman("secret", "create", secret, str(tmp_path / "secret.yaml"))
    try:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": busybox_image, "command": ["cat", "/creds/user"],
                            "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]}],
            "volumes": [{"name": "creds", "secret": {"secretName": secret}}]}}
        local = localize(pod, tmp_path / "run", None)
        pods.append(name)
        podman.playing(json.dumps(local.pod))  # podman 4.3.1 panicked on the secret volume as given
        _wait_exited(name, ["c"])
        assert podman.logs(f"{name}-c") == "alice"
    finally:
        subprocess.run(["podman", "pod", "rm", "--force", "--ignore", "--time", "0", name], capture_output=True,
                       check=False)
        subprocess.run(["podman", "secret", "rm", secret], capture_output=True, check=False)
        subprocess.run(["podman", "volume", "rm", "--force", secret], capture_output=True, check=False)
