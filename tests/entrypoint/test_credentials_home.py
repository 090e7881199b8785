"""The wrapper copies $(credentials.path) into the step's $HOME before the step runs, as Tekton's
CopyCredsToHome does (pkg/credentials/writer; docs/auth.md "unsuccessful cred copy")."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from entrypoint.credentials import copy_to_home


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def creds(tmp_path: Path) -> Path:
    root = tmp_path / "creds"
    (root / ".docker").mkdir(parents=True)
    (root / ".ssh").mkdir()
    for name, text in ((".docker/config.json", "{}"), (".gitconfig", "[credential]\n"), (".git-credentials", "u\n"),
                       (".ssh/id_key", "KEY"), (".ssh/config", "Host x\n"), ("other", "not copied")):
        (root / name).write_text(text)
        os.chmod(root / name, 0o444)
    os.chmod(root / ".docker", 0o755)
    return root


def test_the_credentials_are_copied_to_home_0600_in_0700_directories(creds: Path, tmp_path: Path) -> None:
    """CredsInitCredentials: .docker, .gitconfig, .git-credentials, .ssh; credsDirPermissions 0700,
    credsFilePermissions 0600; nothing else."""
    home = tmp_path / "home"
    home.mkdir()
    copy_to_home(str(creds), str(home))
    files = {str(p.relative_to(home)): (p.read_text(), _mode(p)) for p in home.rglob("*") if p.is_file()}
    assert files == {".docker/config.json": ("{}", 0o600), ".gitconfig": ("[credential]\n", 0o600),
                     ".git-credentials": ("u\n", 0o600), ".ssh/id_key": ("KEY", 0o600),
                     ".ssh/config": ("Host x\n", 0o600)}
    assert _mode(home / ".docker") == 0o700 and _mode(home / ".ssh") == 0o700
    copy_to_home(str(creds), str(home))  # again (a restarted step): the same
    assert (home / ".ssh/id_key").read_text() == "KEY"


def test_no_creds_dir_is_no_error_and_writes_nothing(tmp_path: Path) -> None:
    copy_to_home(str(tmp_path / "none"), str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_home_that_cannot_be_written_is_a_warning_and_no_failure(
        creds: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "a-file"  # not a directory: every copy fails, even as root
    home.write_text("")
    copy_to_home(str(creds), str(home))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4 and all(line.startswith("entrypoint: warning: unsuccessful cred copy: ") for line in lines)


def test_home_being_the_creds_dir_copies_nothing(creds: Path) -> None:
    copy_to_home(str(creds), str(creds))
    assert sorted(p.name for p in creds.iterdir()) == [".docker", ".git-credentials", ".gitconfig", ".ssh", "other"]
