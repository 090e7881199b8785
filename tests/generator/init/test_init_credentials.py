"""`doll init` writes Tekton's credential files (pkg/credentials: dockercreds/creds.go, gitcreds/basic.go,
gitcreds/ssh.go; docs/auth.md "Technical reference") from Secrets mounted as files, as a secret volume lays
them out (one file per key).  Tekton writes 0600 as the step's own user; doll writes once for steps of any
uid: files 0444, directories 0755 (generator/init/credentials.py)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from generated import container, pod_of

from generator.init.credentials import CredentialsError, write_credentials
from generator.tekton.crediting import CredentialSecret

DOLL = str(Path(sys.executable).with_name("doll"))
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def _secret(root: Path, name: str, **keys: str) -> None:
    (root / name).mkdir(parents=True)
    for key, value in keys.items():
        (root / name / key.replace("_", "-") if key != "known_hosts" else root / name / key).write_text(value)


def _env(*entries: tuple[str, str, str]) -> dict[str, str]:
    return {"DOLL_CREDENTIALS": json.dumps([list(e) for e in entries])}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def secrets(tmp_path: Path) -> Path:
    root = tmp_path / "creds-secrets"
    _secret(root, "hub", username="bot", password="s3cr:t")
    _secret(root, "gh", username="me\\you", password="p@ss word")
    _secret(root, "key", ssh_privatekey=KEY, known_hosts="github.com ssh-ed25519 AAAAC3")
    (root / "regcred").mkdir()
    (root / "regcred" / ".dockerconfigjson").write_text(json.dumps(
        {"auths": {"ghcr.io": {"auth": "dTpw", "username": "u", "password": "p", "identitytoken": "x"},
                   "https://index.docker.io/v1/": {"auth": "b2xkOm9sZA=="}}}))
    return root


def test_docker_config_from_a_dockerconfigjson_secret_and_a_basic_auth_secret(secrets: Path, tmp_path: Path) -> None:
    """dockercreds Write: .docker/config.json {"auths": ...}: the dockerconfigjson Secret's entries (only
    username, password, auth, email kept), then basic-auth entries (auth = base64(user:pass), email
    not@val.id), which win for the same URL."""
    creds = tmp_path / "creds"
    creds.mkdir()
    assert write_credentials(_env(("regcred", "", ""), ("hub", "docker", "https://index.docker.io/v1/")),
                             secrets, creds) == 2
    config = json.loads((creds / ".docker" / "config.json").read_text())
    assert config == {"auths": {
        "ghcr.io": {"username": "u", "password": "p", "auth": "dTpw"},
        "https://index.docker.io/v1/": {"username": "bot", "password": "s3cr:t",
                                        "auth": base64.b64encode(b"bot:s3cr:t").decode(), "email": "not@val.id"}}}
    assert _mode(creds / ".docker" / "config.json") == 0o444 and _mode(creds / ".docker") == 0o755
    assert not (creds / ".gitconfig").exists() and not (creds / ".ssh").exists()


def test_a_dockercfg_secret_is_its_auths_alone(tmp_path: Path) -> None:
    """dockercreds authsFromDockerCfg: a kubernetes.io/dockercfg Secret's .dockercfg is the auths map."""
    secrets, creds = tmp_path / "s", tmp_path / "c"
    creds.mkdir()
    (secrets / "old").mkdir(parents=True)
    (secrets / "old" / ".dockercfg").write_text(json.dumps({"quay.io": {"auth": "eDp5", "email": "a@b"}}))
    write_credentials(_env(("old", "", "")), secrets, creds)
    assert json.loads((creds / ".docker" / "config.json").read_text()) == {
        "auths": {"quay.io": {"auth": "eDp5", "email": "a@b"}}}


def test_git_basic_auth_writes_gitconfig_and_git_credentials(secrets: Path, tmp_path: Path) -> None:
    """gitcreds basicGitConfig.Write: .gitconfig with `helper = store` and a username per URL (a backslash
    doubled), .git-credentials with https://user:pass@host per URL (userinfo escaped), a trailing newline."""
    creds = tmp_path / "creds"
    creds.mkdir()
    write_credentials(_env(("gh", "git", "https://github.com"), ("hub", "git", "https://gitlab.com")), secrets, creds)
    assert (creds / ".gitconfig").read_text() == (
        '[credential]\n\thelper = store\n[credential "https://github.com"]\n\tusername = me\\\\you\n'
        '[credential "https://gitlab.com"]\n\tusername = bot\n')
    assert (creds / ".git-credentials").read_text() == (
        "https://me%5Cyou:p%40ss%20word@github.com\nhttps://bot:s3cr%3At@gitlab.com\n")
    assert _mode(creds / ".gitconfig") == 0o444 and _mode(creds / ".git-credentials") == 0o444


def test_git_ssh_auth_writes_the_key_config_and_known_hosts(secrets: Path, tmp_path: Path) -> None:
    """gitcreds sshGitConfig.Write: .ssh/id_<secret> (the ssh-privatekey), .ssh/config (Host, HostName,
    Port: 22 unless the URL gives one, IdentityFile), .ssh/known_hosts from the Secret's known_hosts."""
    creds = tmp_path / "creds"
    creds.mkdir()
    write_credentials(_env(("key", "git", "github.com"), ("key", "git", "gitlab.example:2222")), secrets, creds)
    assert (creds / ".ssh" / "id_key").read_text() == KEY
    assert (creds / ".ssh" / "config").read_text() == (
        f"Host github.com\n    HostName github.com\n    Port 22\n    IdentityFile {creds}/.ssh/id_key\n"
        f"Host gitlab.example\n    HostName gitlab.example\n    Port 2222\n    IdentityFile {creds}/.ssh/id_key\n")
    assert (creds / ".ssh" / "known_hosts").read_text() == (
        "github.com ssh-ed25519 AAAAC3\ngithub.com ssh-ed25519 AAAAC3")
    assert _mode(creds / ".ssh") == 0o755
    assert {p.name: _mode(p) for p in (creds / ".ssh").iterdir()} == {
        "id_key": 0o444, "config": 0o444, "known_hosts": 0o444}


def test_writing_twice_gives_the_same_files(secrets: Path, tmp_path: Path) -> None:
    """A restarted init container writes over its own read-only files."""
    creds = tmp_path / "creds"
    creds.mkdir()
    env = _env(("regcred", "", ""), ("gh", "git", "https://github.com"), ("key", "git", "github.com"))
    write_credentials(env, secrets, creds)
    first = {p: p.read_text() for p in creds.rglob("*") if p.is_file()}
    write_credentials(env, secrets, creds)
    assert {p: p.read_text() for p in creds.rglob("*") if p.is_file()} == first


@pytest.mark.parametrize(("entries", "message"), [
    ((("hub", "", ""),), "Secret hub: neither .dockerconfigjson nor .dockercfg"),
    ((("key", "docker", "https://x"),), "Secret key: no key username"),
    ((("gh", "git", "https://x"), ("hub", "git", "https://x")), "a second git entry for https://x"),
    ((("../etc", "", ""),), "DOLL_CREDENTIALS: expected a JSON list")])
def test_a_secret_that_does_not_fit_is_refused_in_one_line(
        secrets: Path, tmp_path: Path, entries: tuple[tuple[str, str, str], ...], message: str) -> None:
    with pytest.raises(CredentialsError, match=message.replace(".", r"\.")):
        write_credentials(_env(*entries), secrets, tmp_path)


def test_doll_init_without_credentials_writes_none(tmp_path: Path) -> None:
    assert write_credentials({}, tmp_path / "none", tmp_path) == 0
    assert list(tmp_path.iterdir()) == []


RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: creds}
spec:
  taskSpec:
    steps: [{name: show, image: busybox, command: [cat, '$(credentials.path)/.docker/config.json']}]
"""


def _doll_init(tmp_path: Path, secrets: Path, *credentials: CredentialSecret) -> subprocess.CompletedProcess[str]:
    """`doll init` as a subprocess, from the env of a Pod generated with these credentials."""
    env = {e["name"]: e["value"] for e in container(pod_of(RUN, credentials=credentials), "doll-init")["env"]}
    source = tmp_path / "opt" / "bin"
    source.mkdir(parents=True, exist_ok=True)
    (source / "entrypoint").write_text("#!/bin/sh\n")
    (tmp_path / "creds").mkdir(exist_ok=True)
    args = [DOLL, "init", "--source", str(source), "--bin", str(tmp_path / "bin"), "--run", str(tmp_path / "run"),
            "--steps", str(tmp_path / "steps"), "--scripts", str(tmp_path / "scripts"),
            "--creds-secrets", str(secrets), "--creds", str(tmp_path / "creds")]
    python_path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return subprocess.run(args, env={"PATH": os.environ["PATH"], **python_path, **env}, capture_output=True,
                          text=True, timeout=30, check=False)


def test_doll_init_writes_the_files_from_a_generated_pods_env(secrets: Path, tmp_path: Path) -> None:
    result = _doll_init(tmp_path, secrets, CredentialSecret("regcred"), CredentialSecret("key", "git", "github.com"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith(f"and {tmp_path}/creds from 2 Secret(s)")
    assert json.loads((tmp_path / "creds/.docker/config.json").read_text())["auths"]["ghcr.io"]["auth"] == "dTpw"
    assert (tmp_path / "creds/.ssh/id_key").read_text() == KEY


def test_doll_init_names_a_missing_key_and_exits_2(secrets: Path, tmp_path: Path) -> None:
    """A Secret without the keys its entry needs: one line, exit 2 (an input error)."""
    result = _doll_init(tmp_path, secrets, CredentialSecret("key", "docker", "https://x"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"doll init: Secret key: no key username (mounted at {secrets}/key)"
