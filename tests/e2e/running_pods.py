"""Running a TaskRun with the real `doll run` command, as a user would, and reading what it left.

`doll run --workdir DIR --report FILE` keeps the pod's volumes on the host, so a test reads the wrappers'
own records (post files, exit codes, termination messages) next to the supervisor's view.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOLL = str(ROOT / ".venv" / "bin" / "doll")
BUSYBOX = "localhost/doll-busybox:1"  # built by scripts/make-busybox-image (the busybox_image fixture)


@dataclass(frozen=True)
class Run:
    exit_code: int
    output: str  # doll run's stdout: progress lines, prefixed logs, the final table
    errors: str
    report: dict[str, Any]
    workdir: Path

    def step(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["steps"] if s["name"] == name)

    def sidecar(self, name: str) -> dict[str, Any]:
        return next(s for s in self.report["sidecars"] if s["name"] == name)

    def record(self, step: str) -> dict[str, Any]:
        """The wrapper's own record of how `step` ended (its post file, `out` or `out.err`)."""
        step_dir = self.workdir / "volumes" / "doll-steps" / f"step-{step}"
        for name in ("out", "out.err"):
            if (step_dir / name).exists():
                data: dict[str, Any] = json.loads((step_dir / name).read_text())
                return data
        raise AssertionError(f"step {step}: no post file in {step_dir}: {sorted(os.listdir(step_dir))}")

    def logged(self, label: str) -> list[str]:
        prefix = f"[{label}] "
        return [line[len(prefix):] for line in self.output.splitlines() if line.startswith(prefix)]


def taskrun(name: str, task_spec: str, extra_spec: str = "") -> str:
    """A TaskRun named `name` with an inline taskSpec (YAML text indented as under `taskSpec:`)."""
    spec = textwrap.indent(textwrap.dedent(task_spec).strip("\n"), "    ")
    extra = textwrap.indent(textwrap.dedent(extra_spec).strip("\n"), "  ") + "\n" if extra_spec else ""
    return f"apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata:\n  name: {name}\nspec:\n{extra}  taskSpec:\n{spec}\n"


def doll_run(tmp_path: Path, pods: list[str], image: str, yaml_text: str, *args: str,
             timeout: float = 240) -> Run:
    name = yaml_text.split("name: ", 1)[1].split("\n", 1)[0].strip()
    pods.append(f"{name}-pod")
    source = tmp_path / "taskrun.yaml"
    source.write_text(yaml_text)
    workdir, report = tmp_path / "work", tmp_path / "report.json"
    done = subprocess.run([DOLL, "run", str(source), "--image", image, "--workdir", str(workdir),
                           "--report", str(report), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)
    data = json.loads(report.read_text()) if report.exists() else {}
    return Run(done.returncode, done.stdout, done.stderr, data, workdir)
