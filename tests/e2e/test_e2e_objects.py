"""Secrets, ConfigMaps and PVCs given with the TaskRun, and volumeClaimTemplate workspaces, under `doll run`
(generator/local/objects.py, materializing.py), with env values expanded as a kubelet does (expanding.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from running_pods import doll_run

pytestmark = pytest.mark.podman

OBJECTS = """\
apiVersion: v1
kind: Secret
metadata: {name: e2e-obj-creds}
data: {user: YWxpY2U=}
stringData: {token: s3cret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: e2e-obj-settings}
data: {greeting: hello, mode: fast}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: e2e-obj-cache}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
"""

TASKRUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: e2e-obj}
spec:
  workspaces:
    - {name: creds, secret: {secretName: e2e-obj-creds}}
    - {name: settings, configMap: {name: e2e-obj-settings, items: [{key: greeting, path: sub/greet.txt}]}}
    - {name: cache, persistentVolumeClaim: {claimName: e2e-obj-cache}}
    - name: scratch
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  taskSpec:
    workspaces: [{name: creds}, {name: settings}, {name: cache}, {name: scratch}]
    steps:
      - name: show
        image: BUSYBOX
        env:
          - {name: A, value: x}
          - {name: B, value: $(A)-2}
          - {name: C, value: $$(A) $(UNDEFINED)}
          - {name: TOKEN, valueFrom: {secretKeyRef: {name: e2e-obj-creds, key: token}}}
          - {name: GREETING, valueFrom: {configMapKeyRef: {name: e2e-obj-settings, key: greeting}}}
        envFrom:
          - {prefix: CM_, configMapRef: {name: e2e-obj-settings}}
        script: |
          echo "B=$B C=$C TOKEN=$TOKEN GREETING=$GREETING CM_mode=$CM_mode"
          echo "user=$(cat $(workspaces.creds.path)/user) token=$(cat $(workspaces.creds.path)/token)"
          echo "greet=$(cat $(workspaces.settings.path)/sub/greet.txt)"
          touch $(workspaces.creds.path)/x 2>/dev/null || echo "creds read-only"
          echo data > $(workspaces.cache.path)/f && echo data > $(workspaces.scratch.path)/f && echo wrote
"""


def _podman_names(kind: str) -> set[str]:
    done = subprocess.run(["podman", kind, "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                          check=True)
    return set(done.stdout.split())


def test_secrets_config_maps_and_claims_given_with_the_taskrun_are_used_as_a_cluster_would(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    run = doll_run(tmp_path, pods, doll_image, OBJECTS + TASKRUN.replace("BUSYBOX", busybox_image))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("show") == ["B=x-2 C=$(A) $(UNDEFINED) TOKEN=s3cret GREETING=hello CM_mode=fast",
                                  "user=alice token=s3cret", "greet=hello", "creds read-only", "wrote"]
    made = {name for name in _podman_names("volume") | _podman_names("secret") if name.startswith("e2e-obj")}
    assert made == set()  # nothing left behind in podman: the objects were directories of the run


def test_the_volume_kube_play_makes_for_a_podman_secret_is_removed_with_the_pod(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    secret = "e2e-podman-made-secret"  # not e2e-obj*: the test above checks that nothing of that name is left
    (tmp_path / "secret.json").write_text('{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "'
                                          + secret + '"}, "data": {"user": "bob"}}')
    subprocess.run(["podman", "secret", "create", secret, str(tmp_path / "secret.json")], capture_output=True,
                   check=True)
    try:
        run = doll_run(tmp_path, pods, doll_image, f"""\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {{name: e2e-obj-podman}}
spec:
  workspaces: [{{name: creds, secret: {{secretName: {secret}}}}}]
  taskSpec:
    workspaces: [{{name: creds}}]
    steps: [{{name: s, image: {busybox_image}, script: 'cat $(workspaces.creds.path)/user'}}]
""")
        assert run.exit_code == 0 and run.logged("s") == ["bob"], run.output + run.errors
        assert secret not in _podman_names("volume")
    finally:  # the pod first: podman keeps a secret that a container still uses
        for pod in pods:
            subprocess.run(["podman", "pod", "rm", "--force", "--time", "0", pod], capture_output=True, check=False)
        subprocess.run(["podman", "secret", "rm", secret], capture_output=True, check=False)
        subprocess.run(["podman", "volume", "rm", "--force", secret], capture_output=True, check=False)
