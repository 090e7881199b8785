"""`doll run --workdir DIR`: the host directory for the pod's volumes, made if need be and required empty;
emptied again when no pod was played."""

from __future__ import annotations

import shutil
from pathlib import Path

from contracts.errors import UsageError

__all__ = ["emptying", "making_workdir"]


def making_workdir(workdir: str) -> tuple[Path, bool]:
    """--workdir DIR, created if need be (then True); it must be empty."""
    run_dir = Path(workdir).resolve()
    try:
        if run_dir.exists() and any(run_dir.iterdir()):
            raise UsageError(f"--workdir {workdir}: not empty")
        created = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--workdir {workdir}: {exc.strerror}") from None
    return run_dir, created


def emptying(run_dir: Path, created: bool) -> None:
    """Undo what this run put in --workdir DIR when no pod was played (it was empty, or made here)."""
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for child in run_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
