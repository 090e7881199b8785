"""`$(credentials.path)` and the credentials placed there: Tekton's creds-init, done once by `doll init`.

Tekton (docs/auth.md; pkg/pod/creds_init.go, pkg/credentials) mounts each matching Secret of the run's
ServiceAccount at /tekton/creds-secrets/<name> and writes, from them, .docker/config.json, .gitconfig +
.git-credentials and .ssh/ into /tekton/creds, `$(credentials.path)` (docs/variables.md).  doll takes the
Secrets by name, `--credentials-secret NAME[=git:URL|docker:URL]` (the URL is what a `tekton.dev/git-*` or
`tekton.dev/docker-*` annotation would hold; a bare NAME is a dockerconfigjson or dockercfg Secret, which
Tekton takes unannotated).  Only names and URLs enter the Pod spec: each Secret is a volume mounted, by
name, in doll-init alone, which writes Tekton's files into the doll-creds emptyDir; the steps mount that
read-only at /tekton/creds, and each step's wrapper copies it into its $HOME (CopyCredsToHome).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.layout import CREDS_DIR, CREDS_SECRETS_DIR, INIT_CONTAINER
from generator.errors import GenerateError, quote
from generator.init.env_values import env_parts
from generator.tekton.loading import DNS_LABEL

__all__ = ["CREDS_DIR", "CREDS_VOLUME", "CredentialSecret", "SECRETS_DIR", "credential_secret", "matching", "place"]

SECRETS_DIR = CREDS_SECRETS_DIR  # credentials VolumePath: each Secret at SECRETS_DIR/<name>; CREDS_DIR: pipeline.CredsDir
CREDS_VOLUME = "doll-creds"
KINDS = ("git", "docker")


@dataclass(frozen=True)
class CredentialSecret:
    secret: str
    kind: str = ""  # "" (a docker config Secret) | "git" | "docker" (as a tekton.dev/<kind>-* annotation)
    url: str = ""


def credential_secret(text: str) -> CredentialSecret:
    """`--credentials-secret NAME` or `NAME=git:URL` / `NAME=docker:URL`."""
    name, _, rest = text.partition("=")
    kind, _, url = rest.partition(":")
    if not DNS_LABEL.match(name) and not _subdomain(name):
        raise GenerateError(f"--credentials-secret {quote(text)}: {quote(name)} is not a Secret name")
    if rest and (kind not in KINDS or not url):
        raise GenerateError(f"--credentials-secret {quote(text)}: expected NAME, NAME=git:URL or NAME=docker:URL")
    return CredentialSecret(name, kind, url)


def matching(name: str, secret_type: str, annotations: dict[str, str]) -> list[CredentialSecret]:
    """What Tekton's builders take of a Secret (MatchingAnnotations, dockercreds then gitcreds): basic-auth,
    a docker entry per `tekton.dev/docker-*` and a git entry per `tekton.dev/git-*` annotation (their values
    sorted); ssh-auth, a git entry per `tekton.dev/git-*`; dockerconfigjson and dockercfg, unannotated."""
    def urls(prefix: str) -> list[str]:
        return sorted(v for k, v in annotations.items() if k.startswith(prefix))
    if secret_type == "kubernetes.io/basic-auth":
        return [*(CredentialSecret(name, "docker", u) for u in urls("tekton.dev/docker-")),
                *(CredentialSecret(name, "git", u) for u in urls("tekton.dev/git-"))]
    if secret_type == "kubernetes.io/ssh-auth":
        return [CredentialSecret(name, "git", u) for u in urls("tekton.dev/git-")]
    if secret_type in ("kubernetes.io/dockerconfigjson", "kubernetes.io/dockercfg"):
        return [CredentialSecret(name)]
    return []


def _subdomain(name: str) -> bool:
    return 0 < len(name) <= 253 and all(DNS_LABEL.match(part) for part in name.split("."))


def place(pod: dict[str, Any], credentials: tuple[CredentialSecret, ...]) -> None:
    """Add the Secrets' volumes, doll-init's mounts and DOLL_CREDENTIALS, and the steps' read-only
    /tekton/creds (pkg/pod: every step mounts its creds dir there)."""
    if not credentials:
        return
    spec = pod["spec"]
    secrets = list(dict.fromkeys(c.secret for c in credentials))
    volumes = [{"name": f"doll-cs-{i}", "secret": {"secretName": name}} for i, name in enumerate(secrets)]
    spec["volumes"] = [*spec["volumes"], {"name": CREDS_VOLUME, "emptyDir": {}}, *volumes]
    init = next(c for c in spec["initContainers"] if c["name"] == INIT_CONTAINER)
    init["volumeMounts"] = [*init["volumeMounts"], {"name": CREDS_VOLUME, "mountPath": CREDS_DIR},
                            *({"name": v["name"], "mountPath": f"{SECRETS_DIR}/{name}", "readOnly": True}
                              for v, name in zip(volumes, secrets))]
    entries = [[c.secret, c.kind, c.url] for c in credentials]
    init["env"] = [*init["env"], *({"name": k, "value": v} for k, v in env_parts("DOLL_CREDENTIALS", entries))]
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        if container["name"].startswith("step-"):
            mounts = container.setdefault("volumeMounts", [])
            if any(m.get("mountPath") == CREDS_DIR for m in mounts):
                raise GenerateError(f"{container['name']}: a volumeMount at {CREDS_DIR}, where the credentials go")
            mounts.append({"name": CREDS_VOLUME, "mountPath": CREDS_DIR, "readOnly": True})
