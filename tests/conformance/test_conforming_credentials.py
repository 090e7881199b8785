"""`$(credentials.path)` and the credentials Tekton places there (docs/auth.md, docs/variables.md,
pkg/pod/creds_init.go, pkg/credentials/dockercreds and gitcreds): the generated Pod's side.  doll init's
side is tests/generator/init/test_init_credentials.py."""

from __future__ import annotations

import json

import pytest
from generated import container, gen, pod_of

from generator.errors import GenerateError
from generator.tekton.crediting import CredentialSecret, credential_secret

RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: creds}
spec:
  taskSpec:
    steps:
    - {name: show, image: busybox, command: [cat, '$(credentials.path)/.docker/config.json']}
    - {name: other, image: busybox, command: ['true']}
    sidecars:
    - {name: side, image: busybox, command: [sleep, '1']}
"""
CREDENTIALS = (CredentialSecret("regcred"), CredentialSecret("gh", "git", "https://github.com"),
               CredentialSecret("gh", "docker", "https://index.docker.io/v1/"))


def test_credentials_path_is_tektons_creds_dir() -> None:
    """docs/variables.md: `credentials.path` is the path to credentials written by the creds-init container
    (pipeline.CredsDir, /tekton/creds)."""
    step = container(pod_of(RUN), "step-show")
    assert step["args"][-2:] == ["cat", "/tekton/creds/.docker/config.json"]


@pytest.mark.parametrize("layout", ["native", "classic"])
def test_the_secrets_are_mounted_by_name_in_doll_init_only_and_the_steps_read_the_creds_dir(layout: str) -> None:
    """pkg/pod/creds_init.go: each Secret is a secret volume mounted at /tekton/creds-secrets/<name>
    (credentials VolumePath), and every step mounts its creds dir at /tekton/creds.  doll mounts the Secrets
    in doll-init alone, which writes the files once; the Pod validates strictly (1.29 and the newest)."""
    pod = pod_of(RUN, layout=layout, credentials=CREDENTIALS)
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    assert volumes["doll-creds"] == {"name": "doll-creds", "emptyDir": {}}
    assert volumes["doll-cs-0"] == {"name": "doll-cs-0", "secret": {"secretName": "regcred"}}
    assert volumes["doll-cs-1"] == {"name": "doll-cs-1", "secret": {"secretName": "gh"}}
    assert "doll-cs-2" not in volumes  # one volume per Secret, however many entries name it
    init = container(pod, "doll-init")
    assert init["volumeMounts"][-3:] == [
        {"name": "doll-creds", "mountPath": "/tekton/creds"},
        {"name": "doll-cs-0", "mountPath": "/tekton/creds-secrets/regcred", "readOnly": True},
        {"name": "doll-cs-1", "mountPath": "/tekton/creds-secrets/gh", "readOnly": True}]
    env = {e["name"]: e["value"] for e in init["env"]}
    assert json.loads(env["DOLL_CREDENTIALS"]) == [["regcred", "", ""], ["gh", "git", "https://github.com"],
                                                   ["gh", "docker", "https://index.docker.io/v1/"]]
    for name in ("step-show", "step-other"):
        mounts = container(pod, name)["volumeMounts"]
        assert {"name": "doll-creds", "mountPath": "/tekton/creds", "readOnly": True} in mounts
        assert not any(m["name"].startswith("doll-cs-") for m in mounts)
    for name in ("doll-supervisor", "sidecar-side"):
        assert not any(m["name"].startswith("doll-cs-") or m["name"] == "doll-creds"
                       for m in container(pod, name)["volumeMounts"])


def test_no_secret_value_enters_the_pod() -> None:
    """Only names and URLs travel: the values stay in the Secrets, read by doll-init from its mounts."""
    text = json.dumps(pod_of(RUN, credentials=CREDENTIALS))
    assert "password" not in text and "ssh-privatekey" not in text and ".dockerconfigjson" not in text


def test_without_credentials_nothing_is_added() -> None:
    pod = pod_of(RUN)
    assert not any(v["name"] in ("doll-creds",) or v["name"].startswith("doll-cs-") for v in pod["spec"]["volumes"])
    assert "DOLL_CREDENTIALS" not in {e["name"] for e in container(pod, "doll-init")["env"]}


def test_a_steps_own_mount_at_the_creds_dir_is_refused() -> None:
    text = RUN.replace("command: ['true']}", "command: ['true'], volumeMounts: [{name: v, mountPath: /tekton/creds}]}"
                       ).replace("    sidecars:", "    volumes: [{name: v, emptyDir: {}}]\n    sidecars:")
    with pytest.raises(GenerateError, match="step-other: a volumeMount at /tekton/creds"):
        gen(text, credentials=CREDENTIALS)


@pytest.mark.parametrize(("text", "parsed"), [
    ("regcred", CredentialSecret("regcred")),
    ("gh=git:https://github.com", CredentialSecret("gh", "git", "https://github.com")),
    ("gh=git:github.com:2222", CredentialSecret("gh", "git", "github.com:2222")),
    ("hub=docker:https://index.docker.io/v1/", CredentialSecret("hub", "docker", "https://index.docker.io/v1/"))])
def test_the_credentials_secret_option_reads_a_name_and_what_an_annotation_would_say(
        text: str, parsed: CredentialSecret) -> None:
    """docs/auth.md: `tekton.dev/git-0: https://github.com` (basic-auth, ssh-auth), `tekton.dev/docker-0: URL`
    (basic-auth); dockerconfigjson and dockercfg Secrets need no annotation."""
    assert credential_secret(text) == parsed


@pytest.mark.parametrize("text", ["Bad_Name", "gh=svn:https://x", "gh=git:", "gh=git"])
def test_a_bad_credentials_secret_option_is_refused_in_one_line(text: str) -> None:
    with pytest.raises(GenerateError, match="--credentials-secret"):
        credential_secret(text)
