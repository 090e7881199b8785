"""Tekton's creds-init, in `doll init`: $DOLL_CREDENTIALS names Secrets mounted at /tekton/creds-secrets/<name>;
from them, the files Tekton's credential builders write go into /tekton/creds, `$(credentials.path)`:

    docker config (a bare name: .dockerconfigjson, else .dockercfg), docker:URL (username, password)
                               -> .docker/config.json  {"auths": {URL: {username, password, auth, email}}}
                                  (dockercreds: dockercfg, then dockerconfigjson, then basic-auth entries win)
    git:URL, username/password -> .gitconfig ([credential] helper = store, one username per URL) and
                                  .git-credentials (https://user:pass@host, one a line)   (gitcreds/basic.go)
    git:URL, ssh-privatekey    -> .ssh/id_<secret>, .ssh/config (Host, HostName, Port, IdentityFile per
                                  URL), .ssh/known_hosts from each Secret's known_hosts   (gitcreds/ssh.go)

Tekton writes them 0600 as the step's own user, in each step's own /tekton/creds.  doll writes them once,
as doll-init's user, for steps that may run as any uid: files 0444, directories 0755, and the steps mount
the volume read-only; each step's wrapper copies them into its $HOME 0600, as its own user, as Tekton's
CopyCredsToHome does (entrypoint/credentials.py), and that is the copy ssh accepts.  Standard library only;
safe to run twice.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from contracts.errors import InputError
from generator.init.env_values import joined

__all__ = ["CredentialsError", "write_credentials"]

FILE_MODE = 0o444
DIR_MODE = 0o755
_ENTRY_KEYS = ("username", "password", "auth", "email")  # dockercreds' entry: what Go's Unmarshal keeps
_USERINFO_SAFE = "!$&'()*+,;="  # what Go's url.UserPassword leaves unescaped (besides unreserved)


class CredentialsError(InputError):
    """One line naming the Secret or the entry that is wrong."""


def _entries(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    text = joined(env, "DOLL_CREDENTIALS")
    if text is None:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        raise CredentialsError("DOLL_CREDENTIALS: not JSON") from None
    if not isinstance(value, list) or not all(
            isinstance(e, list) and len(e) == 3 and all(isinstance(p, str) for p in e) and e[0]
            and "/" not in e[0] and e[0] not in (".", "..") and e[1] in ("", "git", "docker") for e in value):
        raise CredentialsError(f"DOLL_CREDENTIALS: expected a JSON list of [secret, kind, url], got {text[:80]!r}")
    return [(e[0], e[1], e[2]) for e in value]


def _read(secrets: Path, secret: str, key: str, required: bool = True) -> str | None:
    path = secrets / secret / key
    if not path.is_file():
        if required:
            raise CredentialsError(f"Secret {secret}: no key {key} (mounted at {secrets / secret})")
        return None
    return path.read_text(encoding="utf-8")


def _write(creds: Path, name: str, text: str) -> None:
    """creds/name, mode 0444; a directory on the way 0755 (never creds itself: the volume's mount point)."""
    path = creds / name
    if path.parent != creds:
        path.parent.mkdir(exist_ok=True)
        os.chmod(path.parent, DIR_MODE)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".init-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, path)


def _docker_auths(secrets: Path, secret: str) -> dict[str, dict[str, str]]:
    """A bare name: the Secret's .dockerconfigjson ({"auths": ...}), else its .dockercfg (the auths alone)."""
    text = _read(secrets, secret, ".dockerconfigjson", required=False)
    key = ".dockerconfigjson"
    if text is None:
        text, key = _read(secrets, secret, ".dockercfg", required=False), ".dockercfg"
    if text is None:
        raise CredentialsError(f"Secret {secret}: neither .dockerconfigjson nor .dockercfg (a bare name is a docker "
                               "config Secret; give NAME=git:URL or NAME=docker:URL for the others)")
    try:
        value = json.loads(text)
        auths = value["auths"] if key == ".dockerconfigjson" else value
        return {str(url): _entry(entry) for url, entry in auths.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CredentialsError(f"Secret {secret}: {key}: not a docker config") from None


def _entry(entry: Mapping[str, object]) -> dict[str, str]:
    """As dockercreds' entry marshals: username, password and email when not empty, auth always."""
    values = {k: str(entry.get(k) or "") for k in _ENTRY_KEYS}
    return {k: v for k, v in values.items() if v or k == "auth"}


def _basic_entry(username: str, password: str) -> dict[str, str]:
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"username": username, "password": password, "auth": auth, "email": "not@val.id"}


def _credential_url(url: str, username: str, password: str) -> str:
    parts = urlsplit(url)
    userinfo = f"{quote(username, safe=_USERINFO_SAFE)}:{quote(password, safe=_USERINFO_SAFE)}"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))


def _ssh(secrets: Path, creds: Path, ssh: dict[str, list[str]]) -> None:
    config, known_hosts = [], []
    for url, names in ssh.items():
        host, _, port = url.rpartition(":") if ":" in url and url.rpartition(":")[2].isdigit() else (url, "", "22")
        entry = f"Host {host}\n    HostName {host}\n    Port {port}\n"
        for name in names:
            _write(creds, f".ssh/id_{name}", _read(secrets, name, "ssh-privatekey") or "")
            entry += f"    IdentityFile {creds / '.ssh' / f'id_{name}'}\n"
            hosts = _read(secrets, name, "known_hosts", required=False)
            if hosts:
                known_hosts.append(hosts)
        config.append(entry)
    _write(creds, ".ssh/config", "".join(config))
    if known_hosts:
        _write(creds, ".ssh/known_hosts", "\n".join(known_hosts))


def write_credentials(env: Mapping[str, str], secrets: Path, creds: Path) -> int:
    """Write the files; the number of Secrets used.  Nothing when DOLL_CREDENTIALS is not set."""
    entries = _entries(env)
    auths: dict[str, dict[str, str]] = {}
    basic: dict[str, dict[str, str]] = {}
    git: dict[str, tuple[str, str]] = {}
    ssh: dict[str, list[str]] = {}
    for secret, kind, url in entries:
        if kind == "":
            auths.update(_docker_auths(secrets, secret))
        elif kind == "git" and _read(secrets, secret, "ssh-privatekey", required=False) is not None:
            ssh.setdefault(url, []).append(secret)
        else:
            username, password = _read(secrets, secret, "username") or "", _read(secrets, secret, "password") or ""
            if url in (git if kind == "git" else basic):
                raise CredentialsError(f"Secret {secret}: a second {kind} entry for {url} (Tekton: multiple entries "
                                       "for url)")
            if kind == "git":
                git[url] = (username, password)
            else:
                basic[url] = _basic_entry(username, password)
    auths.update(basic)
    if auths:
        _write(creds, ".docker/config.json", json.dumps({"auths": auths}, separators=(",", ":")))
    if git:
        blurbs = "".join(f'[credential "{url}"]\n\tusername = {user.replace(chr(92), chr(92) * 2)}\n'
                         for url, (user, _) in git.items())
        _write(creds, ".gitconfig", "[credential]\n\thelper = store\n" + blurbs)
        _write(creds, ".git-credentials", "".join(_credential_url(u, *up) + "\n" for u, up in git.items()))
    if ssh:
        _ssh(secrets, creds, ssh)
    return len({secret for secret, _, _ in entries})
