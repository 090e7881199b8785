"""`$(credentials.path)` under `doll run`: the Secrets given with the TaskRun become Tekton's credential
files (docs/auth.md; pkg/credentials dockercreds and gitcreds), written by doll init into /tekton/creds,
which the steps read, whatever their uid, and cannot change; each step's wrapper copies them into its $HOME
(Tekton's CopyCredsToHome), 0600 and its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from running_pods import doll_run

pytestmark = pytest.mark.podman

RUN = """\
apiVersion: v1
kind: Secret
metadata: {name: e2e-creds-registry}
type: kubernetes.io/dockerconfigjson
stringData: {.dockerconfigjson: '{"auths": {"ghcr.io": {"auth": "dTpw"}}}'}
---
apiVersion: v1
kind: Secret
metadata: {name: e2e-creds-git, annotations: {tekton.dev/git-0: https://github.com}}
type: kubernetes.io/basic-auth
stringData: {username: bot, password: s3cret}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: e2e-creds}
spec:
  taskSpec:
    steps:
      - name: docker
        image: BUSYBOX
        script: |
          cat $(credentials.path)/.docker/config.json; echo
          touch $(credentials.path)/x 2>/dev/null || echo "read-only"
          stat -c '%a' $HOME/.docker/config.json; cat $HOME/.docker/config.json; echo
      - name: git
        image: BUSYBOX
        securityContext: {runAsUser: 1000}
        env: [{name: HOME, value: /tekton/home}]
        script: |
          id -u; cat $(credentials.path)/.git-credentials
          stat -c '%u %a' $HOME/.git-credentials; cat $HOME/.gitconfig
"""


def test_a_step_reads_the_docker_config_doll_init_wrote_from_the_given_secrets(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    run = doll_run(tmp_path, pods, doll_image, RUN.replace("BUSYBOX", busybox_image))
    assert run.exit_code == 0, run.output + run.errors
    config, read_only, mode, copied = run.logged("docker")
    assert json.loads(config) == json.loads(copied) == {"auths": {"ghcr.io": {"auth": "dTpw"}}}
    assert (read_only, mode) == ("read-only", "600")
    assert run.logged("git") == ["1000", "https://bot:s3cret@github.com", "1000 600", "[credential]",
                                 "\thelper = store", '[credential "https://github.com"]', "\tusername = bot"]
