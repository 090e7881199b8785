"""`--kubernetes-version`: the layout that works on that kubelet, and a warning where a known kubelet bug applies.

Native sidecars need the SidecarContainers feature gate: alpha (off) in 1.28, beta and on by default from 1.29
(KEP-753, pkg/features/kube_features.go).  kubernetes#132826: a restartable init container's startupProbe
worker stopped for good when the Pod's restartPolicy is Never (pkg/kubelet/prober/worker.go), fixed by
#133072 (1.35), cherry-picked to 1.34 (#134800) and 1.33 (#134801)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from generated import gen

from generator.errors import GenerateError
from generator.tekton.versions import choose_layout

DOLL = str(Path(sys.executable).with_name("doll"))
PROBED = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: probed}
spec:
  taskSpec:
    sidecars:
      - {name: db, image: postgres, command: [postgres], startupProbe: {tcpSocket: {port: 5432}}}
    steps: [{name: one, image: busybox, script: echo}]
"""


@pytest.mark.parametrize("version,layout", [("1.27", "classic"), ("1.28.3", "classic"), ("v1.29", "native"),
                                            ("1.33.1", "native"), ("", "native")])
def test_the_version_picks_the_layout(version: str, layout: str) -> None:
    assert choose_layout(None, version) == layout


def test_an_explicit_layout_wins_with_a_warning_when_native_cannot_work(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="doll.generate"):
        assert choose_layout("native", "1.28") == "native"
        assert choose_layout("classic", "1.31") == "classic"
    assert len(caplog.records) == 1 and "SidecarContainers" in caplog.records[0].getMessage()


@pytest.mark.parametrize("version,warned", [("1.30", True), ("1.33.2", True), ("1.34", True), ("1.35", False),
                                            ("1.36.0", False)])
def test_a_sidecar_startup_probe_warns_on_kubelets_before_the_fix_of_132826(
        version: str, warned: bool, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="doll.generate"):
        gen(PROBED, kubernetes_version=version)
    lines = [r.getMessage() for r in caplog.records if "132826" in r.getMessage()]
    assert len(lines) == int(warned)


def test_no_warning_in_the_classic_layout(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="doll.generate"):
        gen(PROBED, kubernetes_version="1.30", layout="classic")
    assert not [r for r in caplog.records if "132826" in r.getMessage()]


def test_a_bad_version_is_refused_in_one_line() -> None:
    with pytest.raises(GenerateError, match=r"^--kubernetes-version: '1' is not X.Y or X.Y.Z"):
        gen(PROBED, kubernetes_version="1")


def test_the_cli_picks_classic_for_1_28(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(PROBED)
    result = subprocess.run([DOLL, "generate", "--no-registry-lookup", "--kubernetes-version", "1.28",
                             "--pod-security", "restricted", "-o", "json", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pod = json.loads(result.stdout)
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["doll-init"]
    assert [c["name"] for c in pod["spec"]["containers"]][:2] == ["doll-supervisor", "sidecar-db"]
