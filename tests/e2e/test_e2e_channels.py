"""Each container meets the supervisor on its own channel: any uid reaches its own, and nobody else's.

Real pods under podman (`doll run`): a step replays, from its own container, the attacks that worked when
every container shared one control socket (tests/e2e/attacker.py), and steps running as uids other than
doll's own reach their channels.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from running_pods import doll_run, taskrun

pytestmark = pytest.mark.podman

BUSYBOX = "localhost/doll-busybox:1"
ATTACKER = (Path(__file__).parent / "attacker.py").read_text()


def _journal(workdir: Path) -> list[dict[str, object]]:
    lines = (workdir / "volumes" / "doll-run" / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_a_step_cannot_speak_for_another_step_nor_steer_the_run_nor_flood_the_supervisor(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Replays, from a step's own container: a hello and a `finished` as step `last` with forged results
    ("tr = FORGED"), a second hello as itself, `ctl continue` for another step and `ctl cancel`, a status
    that would show every step's results, a JSON nesting bomb, and a flood of 900+ connections."""
    script = textwrap.indent("#!/usr/bin/env python3\n" + ATTACKER, "      ")
    spec = f"""
results: [{{name: tr}}]
steps:
  - name: first
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo secret-of-first
  - name: evil
    image: {doll_image}
    script: |
{script}
  - name: last
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      printf real > $(results.tr.path)
"""
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-evil", spec), "-v")
    assert run.exit_code == 0, run.output + run.errors
    said = dict(line.split(": ", 1) for line in run.logged("evil") if ": " in line)
    assert said["admin socket visible"] == "False", said
    assert said["hello as last"] == "closed"  # another step's name on our channel: refused
    assert said["hello as evil again"] == "closed"  # our own wrapper is connected: refused
    assert said["finished for last, no hello"] == "closed"
    assert '"ok":false' in said["ctl continue last"] and '"ok":false' in said["ctl cancel"]
    assert said["status shows steps"] == "['evil']"
    assert said["nesting bomb"] == "closed"
    assert said["flood"].startswith("3 kept of "), said["flood"]  # 4 per channel, the wrapper holds one
    assert said["after the flood, status"] == "True"
    assert run.report["outcome"] == "Succeeded"
    assert run.step("last")["results"] == {"tr": "real"} and "FORGED" not in json.dumps(run.report)
    finished = [r for r in _journal(run.workdir) if r.get("ev") == "finished"]
    assert [r["step"] for r in finished] == ["first", "evil", "last"]
    logged = [line for line in run.output.splitlines() if "connection_dropped" in line]
    assert 1 <= len(logged) <= 12, logged  # one per why and 10 s, not one per connection
    assert "Traceback" not in run.output + run.errors


def test_steps_running_as_any_uid_reach_their_own_channel(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Replays `--socket: '/doll/run/control.sock': Permission denied` for steps not run as 0 or 65532:
    the Pod runs as 1000 (OpenShift gives an arbitrary uid), one step as 2000 (Tekton's per-step users)."""
    spec = f"""
steps:
  - name: pod-user
    image: {BUSYBOX}
    script: |
      #!/bin/sh
      echo "uid $(id -u)"
  - name: own-user
    image: {BUSYBOX}
    securityContext: {{runAsUser: 2000}}
    script: |
      #!/bin/sh
      echo "uid $(id -u)"
"""
    extra = "podTemplate:\n  securityContext: {runAsUser: 1000}"
    run = doll_run(tmp_path, pods, doll_image, taskrun("e2e-uids", spec, extra))
    assert run.exit_code == 0, run.output + run.errors
    assert run.logged("pod-user") == ["uid 1000"] and run.logged("own-user") == ["uid 2000"]
    journal = _journal(run.workdir)
    assert sorted(r["step"] for r in journal if r.get("ev") == "announced") == ["own-user", "pod-user"]
    assert all(r.get("source") is None for r in journal if r.get("ev") == "finished")  # reported on the socket
