"""`doll init`: the init container places what the steps need on the Pod's shared volumes.

    /opt/doll/bin/.            -> /doll/bin          (the packaged wrapper, modes kept)
    $DOLL_PLAN                 -> /doll/run/plan.json (validated first)
    $DOLL_SCRIPT_<i>           -> /tekton/scripts/<name i of $DOLL_SCRIPT_NAMES>, mode 0755
    $DOLL_STEPS                -> /tekton/steps/step-<name>/ (+ results/), and the symlink <index> -> step-<name>
    $DOLL_WORKING_DIRS         -> each directory (below /workspace), world-writable, as Tekton's
                                  working-dir-initializer makes the steps' workingDirs
    $DOLL_CREDENTIALS          -> /tekton/creds: Tekton's credential files from the Secrets mounted at
                                  /tekton/creds-secrets/<name> (credentials.py)

Everything comes from environment variables, never through a shell.  Each is JSON written by `env_json`
(a script is a JSON string) with no `$` in it: the kubelet expands `$(VAR)` and reduces `$$` to `$` in a
container's env values, so every `$` travels as the JSON escape \\u0024, which json.loads reads back.  A
value longer than ENV_PART_CHARS continues in NAME_1, NAME_2, ... (`env_parts`): Linux allows 128 KiB per
NAME=value string, and a script's `$`s grow six-fold in JSON.
Standard library only, and safe to run twice (a restarted init container).  Each step dir is world-writable:
steps run as any user, and a step can reach only its own dir read-write (the generator mounts the rest of
/tekton/steps read-only).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from contracts.errors import DollError, InputError, exit_code_for
from contracts import layout
from contracts.parsing import Parser
from contracts.errors import UsageError
from generator.init.credentials import write_credentials
from generator.init.env_values import joined
from contracts.plans import Plan, PlanError

__all__ = ["InitError", "main", "place"]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SCRIPT = re.compile(r"^(step|sidecar)-[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class InitError(InputError):
    """One line naming what is wrong; main() prints it and exits 2."""


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="doll init", description="place the wrapper, plan and scripts (init container); reads "
               "DOLL_PLAN, DOLL_STEPS, DOLL_SCRIPT_NAMES, DOLL_SCRIPT_<i>")
    p.add_argument("--source", default="/opt/doll/bin", help="the packaged wrapper in the doll image")
    p.add_argument("--bin", default=layout.DOLL_BIN)
    p.add_argument("--run", default=layout.DOLL_RUN)
    p.add_argument("--steps", default=f"{layout.TEKTON_ROOT}/steps")
    p.add_argument("--scripts", default=f"{layout.TEKTON_ROOT}/scripts")
    p.add_argument("--creds", default=layout.CREDS_DIR, help="where DOLL_CREDENTIALS' files go")
    p.add_argument("--creds-secrets", default=layout.CREDS_SECRETS_DIR, help="where DOLL_CREDENTIALS' Secrets are")
    p.add_argument("--workspace", default=layout.WORKSPACE_DIR, help="where DOLL_WORKING_DIRS are (/workspace)")
    return p


def _working_dirs(env: Mapping[str, str], workspace: Path) -> list[Path]:
    """DOLL_WORKING_DIRS: absolute paths strictly below /workspace, as the generator wrote them; each becomes
    a path below `workspace` (the same volume, wherever this container mounts it)."""
    text = joined(env, "DOLL_WORKING_DIRS")
    try:
        value = json.loads("[]" if text is None else text)
    except ValueError:
        raise InitError("DOLL_WORKING_DIRS: not JSON") from None
    prefix = layout.WORKSPACE_DIR + "/"
    if not isinstance(value, list) or not all(isinstance(v, str) and v.startswith(prefix) and
                                              ".." not in v.split("/") for v in value):
        raise InitError(f"DOLL_WORKING_DIRS: expected a JSON list of paths below {prefix}, got {(text or '')[:80]!r}")
    return [workspace / v.removeprefix(prefix) for v in value]


def _json_string(env: Mapping[str, str], key: str) -> str:
    text = joined(env, key)
    assert text is not None
    try:
        value = json.loads(text)
    except ValueError:
        raise InitError(f"{key}: not JSON") from None
    if not isinstance(value, str):
        raise InitError(f"{key}: expected a JSON string, got {text[:80]!r}")
    return value


def _json_list(env: Mapping[str, str], key: str, pattern: re.Pattern[str]) -> list[str]:
    text = joined(env, key)
    try:
        value = json.loads("[]" if text is None else text)
    except ValueError:
        raise InitError(f"{key}: not JSON") from None
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.match(v) for v in value):
        raise InitError(f"{key}: expected a JSON list of names, got {(text or '')[:80]!r}")
    if len(set(value)) != len(value):
        raise InitError(f"{key}: duplicate names")
    return value


def _write(path: Path, text: str, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".init-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _open_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        os.chmod(path, 0o777)
    except PermissionError:  # made by someone else (a runtime pre-creating subPath dirs): fine if usable
        if not os.access(path, os.W_OK | os.X_OK):
            raise


def _copy(source: Path, target: Path) -> None:
    """Copy the tree's contents, modes kept.  Unlike shutil.copytree, never touch the target dir itself:
    it is a volume's mount point, owned by root, and a non-root init cannot chmod or utime it."""
    target.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        destination = target / entry.name
        if entry.is_symlink():
            if destination.is_symlink() or destination.exists():
                destination.unlink()
            destination.symlink_to(os.readlink(entry))
        elif entry.is_dir():
            _copy(entry, destination)
            shutil.copystat(entry, destination)
        else:
            shutil.copy2(entry, destination)


def place(env: Mapping[str, str], source: Path, bin_dir: Path, run_dir: Path, steps_dir: Path,
          scripts_dir: Path, workspace: Path = Path(layout.WORKSPACE_DIR)) -> None:
    """Check everything first, then write: a bad environment leaves nothing half-placed."""
    plan_text = joined(env, "DOLL_PLAN")
    if not plan_text:
        raise InitError("DOLL_PLAN: missing")
    try:
        plan = Plan.from_json(plan_text)
    except PlanError as exc:
        raise InitError(f"DOLL_PLAN: {exc}") from None
    steps = _json_list(env, "DOLL_STEPS", _NAME)
    if steps != [s.name for s in plan.steps]:
        raise InitError(f"DOLL_STEPS: {steps} does not match the plan's steps {[s.name for s in plan.steps]}")
    names = _json_list(env, "DOLL_SCRIPT_NAMES", _SCRIPT)
    scripts = []
    for i, name in enumerate(names):
        if f"DOLL_SCRIPT_{i}" not in env:
            raise InitError(f"DOLL_SCRIPT_{i}: missing (script {name})")
        scripts.append((name, _json_string(env, f"DOLL_SCRIPT_{i}")))
    dirs = _working_dirs(env, workspace)
    if not (source / "entrypoint").is_file():
        raise InitError(f"{source}/entrypoint: missing (is this the doll image?)")

    _copy(source, bin_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write(run_dir / layout.PLAN_NAME, plan_text, 0o644)
    scripts_dir.mkdir(parents=True, exist_ok=True)
    for name, text in scripts:
        _write(scripts_dir / name, text, 0o755)
    for index, name in enumerate(steps):
        _open_dir(steps_dir / layout.step_dir_name(name))
        _open_dir(steps_dir / layout.step_dir_name(name) / layout.STEP_RESULTS_DIR)
        link = steps_dir / str(index)
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(layout.step_dir_name(name))
    for directory in dirs:  # each level world-writable: a step may run as any user
        for level in reversed([directory, *directory.parents]):
            if level.is_relative_to(workspace) and level != workspace:
                _open_dir(level)


def main(argv: list[str]) -> int:
    try:
        ns = _parser().parse_args(argv)  # one line, no abbreviations (--sour is not --source)
        place(os.environ, Path(ns.source), Path(ns.bin), Path(ns.run), Path(ns.steps), Path(ns.scripts),
              Path(ns.workspace))
        credentials = write_credentials(os.environ, Path(ns.creds_secrets), Path(ns.creds))
    except DollError as exc:
        print(f"doll init: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"doll init: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    placed = f", and {ns.creds} from {credentials} Secret(s)" if credentials else ""
    print(f"doll init: placed the wrapper, the plan, {ns.scripts} and {ns.steps}{placed}", file=sys.stderr)
    return 0
