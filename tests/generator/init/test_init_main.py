"""`doll init`, run for real as a subprocess on a temporary root, from the env a generated Pod gives it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from generated import container, pod_of

from contracts.plans import Plan

DOLL = str(Path(sys.executable).with_name("doll"))
RUN = """
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: placed}
spec:
  taskSpec:
    steps:
      - name: build
        image: busybox
        script: |
          echo "$HOME" 'single' "quotes"; exit 3
      - name: test
        image: busybox
        script: |
          #!/usr/bin/env python3
          print("hi")
    sidecars:
      - name: cache
        image: busybox
        script: sleep 1000
"""


def _init_env(pod: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(pod, "doll-init")["env"]}


def _run_init(tmp_path: Path, env: dict[str, str], *more: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "opt" / "bin"
    source.mkdir(parents=True, exist_ok=True)
    (source / "entrypoint").write_text("#!/bin/sh\necho wrapper\n")
    os.chmod(source / "entrypoint", 0o755)
    (source / "lib").mkdir(exist_ok=True)
    (source / "lib" / "libc.so").write_text("lib")
    args = [DOLL, "init", "--source", str(source), "--bin", str(tmp_path / "doll/bin"),
            "--run", str(tmp_path / "doll/run"), "--steps", str(tmp_path / "tekton/steps"),
            "--scripts", str(tmp_path / "tekton/scripts"), *more]
    python_path = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}  # this checkout's
    return subprocess.run(args, env={"PATH": os.environ["PATH"], **python_path, **env}, capture_output=True,
                          text=True, timeout=30)


def test_init_places_wrapper_plan_scripts_and_step_dirs(tmp_path: Path) -> None:
    pod = pod_of(RUN)
    result = _run_init(tmp_path, _init_env(pod))
    assert result.returncode == 0, result.stderr
    wrapper = tmp_path / "doll/bin/entrypoint"
    assert os.access(wrapper, os.X_OK) and (tmp_path / "doll/bin/lib/libc.so").read_text() == "lib"
    plan = Plan.from_json((tmp_path / "doll/run/plan.json").read_text())
    assert [s.name for s in plan.steps] == ["build", "test"]
    build = tmp_path / "tekton/scripts/step-build"
    assert build.read_text() == "#!/bin/sh\nset -e\necho \"$HOME\" 'single' \"quotes\"; exit 3\n"
    assert stat.S_IMODE(build.stat().st_mode) == 0o755
    assert (tmp_path / "tekton/scripts/step-test").read_text().startswith("#!/usr/bin/env python3\n")
    assert (tmp_path / "tekton/scripts/sidecar-cache").read_text() == "#!/bin/sh\nset -e\nsleep 1000"
    steps = tmp_path / "tekton/steps"
    assert os.readlink(steps / "0") == "step-build" and os.readlink(steps / "1") == "step-test"
    assert stat.S_IMODE((steps / "step-test").stat().st_mode) == 0o777
    assert (steps / "step-test" / "results").is_dir()


def test_the_placed_script_runs_and_reaches_its_exit_code(tmp_path: Path) -> None:
    assert _run_init(tmp_path, _init_env(pod_of(RUN))).returncode == 0
    script = tmp_path / "tekton/scripts/step-build"
    result = subprocess.run([str(script)], capture_output=True, text=True, env={"HOME": "/h"}, timeout=10)
    assert result.returncode == 3 and result.stdout == "/h single quotes\n"


# what the kubelet would expand or reduce in an env value, a literal JSON escape, and non-ASCII text
DOLLARS = "echo $$ \"$(DOLL_STEPS)\" $(HOME) ${HOME} $ \\u0024 \\ été ✓ 日本"
DOLLAR_RUN = {
    "apiVersion": "tekton.dev/v1", "kind": "TaskRun", "metadata": {"name": "dollars"},
    "spec": {"taskSpec": {
        "steps": [{"name": "a", "image": "busybox", "script": f"#!/bin/sh\n{DOLLARS}\n"}],
        "sidecars": [{"name": "s", "image": "busybox", "command": ["sleep", "1000"],
                      "readinessProbe": {"exec": {"command": ["sh", "-c", DOLLARS]}}}]}}}


def _kubelet_expand(text: str, defined: dict[str, str]) -> str:
    """What the kubelet does to a container's env value: a port of Kubernetes'
    third_party/forked/golang/expansion.Expand (`$$` -> `$`, `$(NAME)` -> an earlier var's value)."""
    out, checkpoint, cursor = [], 0, 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            rest, advance = text[cursor + 1:], 1
            close = rest.find(")", 1) if rest[0] == "(" else -1
            if rest[0] == "$":
                out.append("$")
            elif close > 0:
                out.append(defined.get(rest[1:close], f"$({rest[1:close]})"))
                advance = close + 1
            else:
                out.append("$" + rest[0])
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _as_the_kubelet_hands_it(env: dict[str, str]) -> dict[str, str]:
    expanded: dict[str, str] = {}
    for name, value in env.items():  # each value sees the vars listed before it
        expanded[name] = _kubelet_expand(value, expanded)
    return expanded


def test_dollars_and_non_ascii_text_reach_disk_byte_for_byte(tmp_path: Path) -> None:
    env = _init_env(pod_of(json.dumps(DOLLAR_RUN)))
    # a kubelet expands env values; podman kube play may not: the same bytes reach disk either way
    for root, given in ((tmp_path / "kubelet", _as_the_kubelet_hands_it(env)), (tmp_path / "podman", env)):
        result = _run_init(root, given)
        assert result.returncode == 0, result.stderr
        assert (root / "tekton/scripts/step-a").read_bytes() == f"#!/bin/sh\n{DOLLARS}\n".encode()
        probe = Plan.from_json((root / "doll/run/plan.json").read_text()).sidecars[0].probe
        assert probe is not None and probe.command == ("sh", "-c", DOLLARS)


def test_no_dollar_reaches_the_init_containers_env_for_the_kubelet_to_expand() -> None:
    env = _init_env(pod_of(json.dumps(DOLLAR_RUN), pushgateway="http://gw:9091/$(HOME)/$$"))
    assert [name for name, value in env.items() if "$" in value] == []
    assert json.loads(env["DOLL_PLAN"])["pushgateway"] == "http://gw:9091/$(HOME)/$$"


def test_a_script_value_that_is_not_a_json_string_is_refused_in_one_line(tmp_path: Path) -> None:
    for value, error in (("echo hi", "DOLL_SCRIPT_0: not JSON"),
                         ('["echo hi"]', "DOLL_SCRIPT_0: expected a JSON string, got '[\"echo hi\"]'")):
        result = _run_init(tmp_path, {**_init_env(pod_of(RUN)), "DOLL_SCRIPT_0": value})
        assert result.returncode == 2 and result.stderr.strip() == f"doll init: {error}"
    assert not (tmp_path / "tekton").exists()


def test_init_run_twice_is_harmless(tmp_path: Path) -> None:
    env = _init_env(pod_of(RUN))
    assert _run_init(tmp_path, env).returncode == 0
    assert _run_init(tmp_path, env).returncode == 0
    assert os.readlink(tmp_path / "tekton/steps/0") == "step-build"


def test_a_bad_plan_is_refused_in_one_line_and_nothing_is_placed(tmp_path: Path) -> None:
    env = _init_env(pod_of(RUN))
    plan = json.loads(env["DOLL_PLAN"])
    plan["steps"][1]["name"] = "Not_DNS"
    result = _run_init(tmp_path, {**env, "DOLL_PLAN": json.dumps(plan)})
    assert result.returncode == 2
    assert result.stderr.strip() == "doll init: DOLL_PLAN: steps[1].name: 'Not_DNS' is not a DNS-1123 label"
    assert not (tmp_path / "doll").exists() and not (tmp_path / "tekton").exists()


def test_a_missing_script_variable_is_refused(tmp_path: Path) -> None:
    env = _init_env(pod_of(RUN))
    del env["DOLL_SCRIPT_1"]
    result = _run_init(tmp_path, env)
    assert result.returncode == 2 and "DOLL_SCRIPT_1: missing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_script_name_that_escapes_the_scripts_dir_is_refused(tmp_path: Path) -> None:
    env = {**_init_env(pod_of(RUN)), "DOLL_SCRIPT_NAMES": json.dumps(["../../etc/passwd", "x", "y"])}
    result = _run_init(tmp_path, env)
    assert result.returncode == 2 and "DOLL_SCRIPT_NAMES" in result.stderr
    assert not (tmp_path / "tekton").exists()


def test_init_as_dolls_non_root_user_fills_root_owned_volume_mount_points() -> None:
    """As in the Pod: uid 65532 with the Pod's fsGroup, volumes are root-owned world-writable dirs
    (emptyDir's 0777); init must not try to chmod or utime those mount points themselves."""
    import shutil
    import tempfile
    if os.getuid() != 0:
        import pytest
        pytest.fail("this test needs root to run doll init as uid 65532")
    root = Path(tempfile.mkdtemp(prefix="doll-init-"))
    try:
        os.chmod(root, 0o755)
        for volume in ("opt/bin", "doll/bin", "doll/run", "tekton/steps", "tekton/scripts"):
            (root / volume).mkdir(parents=True)
            os.chmod(root / volume, 0o777 if volume != "opt/bin" else 0o755)
        (root / "opt/bin/entrypoint").write_text("#!/bin/sh\n")
        os.chmod(root / "opt/bin/entrypoint", 0o755)
        env = {e["name"]: e["value"] for e in container(pod_of(RUN), "doll-init")["env"]}
        args = [DOLL, "init", "--source", str(root / "opt/bin"), "--bin", str(root / "doll/bin"),
                "--run", str(root / "doll/run"), "--steps", str(root / "tekton/steps"),
                "--scripts", str(root / "tekton/scripts")]
        drop = ["setpriv", "--reuid", "65532", "--regid", "65532", "--clear-groups"]  # util-linux, no caps left
        result = subprocess.run(drop + args, env={"PATH": os.environ["PATH"], **env}, capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert (root / "doll/bin/entrypoint").stat().st_uid == 65532
        assert os.access(root / "doll/bin/entrypoint", os.X_OK)
        assert (root / "tekton/steps/step-build").stat().st_uid == 65532
    finally:
        shutil.rmtree(root)


INIT_USAGE = {
    "an abbreviated option": (["--sour", "/opt/doll/bin"], "unrecognized arguments: --sour /opt/doll/bin"),
    "an option without its value": (["--bin"], "argument --bin: expected one argument"),
}


@pytest.mark.parametrize("case", INIT_USAGE, ids=list(INIT_USAGE))
def test_a_bad_init_command_line_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    args, message = INIT_USAGE[case]
    result = subprocess.run([DOLL, "init", *args], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"doll init: {message}\n")


def test_a_script_of_100_kb_of_dollars_reaches_disk_byte_for_byte_through_env_parts(tmp_path: Path) -> None:
    # each `$` is six bytes in the env's JSON: the script travels in DOLL_SCRIPT_0, DOLL_SCRIPT_0_1, ...
    script = "#!/bin/sh\n" + "echo $$ ${HOME} $(DOLL_STEPS) é\n" * 2_900  # ~96 kB as written
    pod = pod_of(RUN.replace("""script: |\n          echo "$HOME" 'single' "quotes"; exit 3\n""",
                             "script: " + json.dumps(script) + "\n"))
    env = _init_env(pod)
    assert len([name for name in env if name.startswith("DOLL_SCRIPT_0")]) > 1
    assert all(len(f"{name}={value}".encode()) < 128 * 1024 for name, value in env.items())
    assert not any("$" in value for value in env.values())
    result = _run_init(tmp_path, env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tekton/scripts/step-build").read_text() == script


def test_init_creates_the_steps_working_dirs_below_workspace_world_writable(tmp_path: Path) -> None:
    """pkg/pod/workingdir_init.go: Tekton's working-dir-initializer makes the steps' workingDirs under /workspace
    before they run; doll init does, each level world-writable (a step may run as any user)."""
    pod = pod_of(RUN.replace("      - name: test\n", "      - name: test\n        workingDir: src/app\n"))
    env = _init_env(pod)
    assert json.loads(env["DOLL_WORKING_DIRS"]) == ["/workspace/src/app"]
    (tmp_path / "ws").mkdir()
    done = _run_init(tmp_path, env, "--workspace", str(tmp_path / "ws"))
    assert done.returncode == 0, done.stderr
    for level in ("src", "src/app"):
        assert stat.S_IMODE((tmp_path / "ws" / level).stat().st_mode) == 0o777


def test_a_working_dir_outside_workspace_in_the_init_env_is_refused(tmp_path: Path) -> None:
    env = {**_init_env(pod_of(RUN)), "DOLL_WORKING_DIRS": '["/etc/x"]'}
    result = _run_init(tmp_path, env)
    assert (result.returncode, result.stderr) == (
        2, "doll init: DOLL_WORKING_DIRS: expected a JSON list of paths below /workspace/, got '[\"/etc/x\"]'\n")
