"""Tekton's CopyCredsToHome (pkg/credentials/writer): before its step runs, the wrapper copies the
credentials doll init wrote to /tekton/creds into the step's $HOME, so that git, ssh and docker find them.

As in Tekton: only .docker, .gitconfig, .git-credentials and .ssh; directories 0700 and files 0600, owned
by the step's own user (whatever uid it runs as); a missing /tekton/creds is no error; any other failure
is one warning line on stderr ("unsuccessful cred copy", docs/auth.md) and the step runs anyway.
"""

from __future__ import annotations

import os
import sys

from contracts.layout import CREDS_DIR

__all__ = ["CREDENTIAL_PATHS", "copy_to_home"]

CREDENTIAL_PATHS = (".docker", ".gitconfig", ".git-credentials", ".ssh")  # credentials.CredsInitCredentials
_DIR_MODE, _FILE_MODE = 0o700, 0o600


def _copy(source: str, destination: str) -> None:
    """os.path only: pathlib is not imported by the wrapper, whose every start counts."""
    if os.path.islink(source) or not os.path.exists(source):
        return
    if os.path.isdir(source):
        os.makedirs(destination, mode=_DIR_MODE, exist_ok=True)
        for name in sorted(os.listdir(source)):
            _copy(os.path.join(source, name), os.path.join(destination, name))
        return
    with open(source, "rb") as f:
        data = f.read()
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def copy_to_home(creds: str = CREDS_DIR, home: str | None = None) -> None:
    if not os.path.isdir(creds):
        return
    home = os.environ.get("HOME") if home is None else home
    if not home:
        print("entrypoint: warning: unsuccessful cred copy: no HOME", file=sys.stderr)
        return
    if os.path.realpath(home) == os.path.realpath(creds):
        return
    for name in CREDENTIAL_PATHS:
        try:
            _copy(os.path.join(creds, name), os.path.join(home, name))
        except OSError as exc:
            print(f"entrypoint: warning: unsuccessful cred copy: {name!r} from {creds!r} to {home!r}: "
                  f"{exc.strerror or exc}", file=sys.stderr)
