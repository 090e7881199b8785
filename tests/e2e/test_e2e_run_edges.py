"""`doll run` at its edges: unreadable input, unusable paths, interrupts during cleanup, a dead supervisor."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from running_pods import DOLL, ROOT, taskrun

ONE_STEP = "steps:\n  - {name: a, image: i, command: ['true']}"


def _doll_run(*args: str, stdin: bytes = b"", cwd: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([DOLL, "run", *args], input=stdin, capture_output=True, timeout=120, cwd=cwd,
                          env=env, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def _one_line(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert (done.returncode, done.stdout) == (code, ""), done
    assert done.stderr == f"doll run: {text}\n", done.stderr


def test_a_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe")
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    _one_line(_doll_run("bin.yaml", cwd=tmp_path), 2, "bin.yaml: not UTF-8 text (byte 0xff at offset 0)")
    _one_line(_doll_run("t.yaml", "-f", "bin.yaml", cwd=tmp_path), 2,
              "bin.yaml: not UTF-8 text (byte 0xff at offset 0)")
    _one_line(_doll_run("-", stdin=b"kind: \xfe", cwd=tmp_path), 2, "<stdin>: not UTF-8 text (byte 0xfe at offset 6)")


def test_an_unwritable_report_is_refused_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    _one_line(_doll_run("t.yaml", "--report", "/nonexistent/dir/r.json", cwd=tmp_path), 2,
              "--report /nonexistent/dir/r.json: no such directory /nonexistent/dir")
    _one_line(_doll_run("t.yaml", "--report", str(tmp_path), cwd=tmp_path), 2, f"--report {tmp_path}: is a directory")


@pytest.mark.podman
def test_an_unusable_workdir_is_one_line_and_exit_2(tmp_path: Path, busybox_image: str) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    _one_line(_doll_run("t.yaml", "--image", busybox_image, "--workdir", "/etc/passwd/x", cwd=tmp_path), 2,
              "--workdir /etc/passwd/x: Not a directory")


NO_PODMAN = {**os.environ, "PATH": "/nonexistent"}


def test_bad_input_is_exit_2_before_podman_is_looked_for(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n")
    _one_line(_doll_run("cm.yaml", cwd=tmp_path, env=NO_PODMAN), 2,
              "cm.yaml: no Task, TaskRun, Pipeline or PipelineRun found (only Secrets, ConfigMaps and "
              "PersistentVolumeClaims, which doll run plays with a run)")
    (tmp_path / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    _one_line(_doll_run("deploy.yaml", cwd=tmp_path, env=NO_PODMAN), 2,
              "deploy.yaml: kind: 'Deployment' is not supported (doll runs a Task, TaskRun, Pipeline or PipelineRun)")
    (tmp_path / "dapi.yaml").write_text(taskrun("x", """
        volumes:
          - {name: info, downwardAPI: {items: [{path: n, fieldRef: {fieldPath: metadata.name}}]}}
        steps:
          - {name: a, image: i, command: ['true'], volumeMounts: [{name: info, mountPath: /info}]}
        """))
    done = _doll_run("dapi.yaml", cwd=tmp_path, env=NO_PODMAN)
    assert (done.returncode, done.stdout) == (2, ""), done
    assert len(done.stderr.splitlines()) == 1 and "downwardAPI" in done.stderr, done.stderr


def test_good_input_without_podman_is_exit_3_and_leaves_the_workdir_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(taskrun("x", ONE_STEP))
    (tmp_path / "empty").mkdir()
    for workdir in ("empty", "new"):
        done = _doll_run("t.yaml", "--workdir", workdir, cwd=tmp_path, env=NO_PODMAN)
        assert (done.returncode, done.stdout) == (3, ""), done
        assert done.stderr.startswith("doll run: podman is not installed;"), done.stderr
    assert list((tmp_path / "empty").iterdir()) == [] and not (tmp_path / "new").exists()


def _starting(tmp_path: Path, pods: list[str], name: str, steps: str, image: str, wanted: str,
              new_session: bool = False, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """doll run NAME (its `steps:` YAML) started, and its output lines up to `wanted` (a step's log line)."""
    pods.append(f"{name}-pod")
    (tmp_path / "t.yaml").write_text(taskrun(name, steps))
    proc = subprocess.Popen([DOLL, "run", str(tmp_path / "t.yaml"), "--image", image, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=new_session)
    assert proc.stdout is not None
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line == wanted:
                return proc, lines
    finally:
        if not lines or lines[-1] != wanted:
            proc.kill()
            proc.communicate()
    raise AssertionError(f"doll run ended before {wanted!r}: {lines}")


def _pod_left(pod: str) -> bool:
    return subprocess.run(["podman", "pod", "exists", pod], capture_output=True, check=False).returncode == 0


@pytest.mark.podman
def test_ctrl_c_again_during_cleanup_does_not_stop_it(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """Ctrl-C reaches the whole process group (doll run and its podman commands), again and again."""
    proc, lines = _starting(tmp_path, pods, "e2e-edges-twice", f"""
        steps:
          - {{name: long, image: {busybox_image}, command: [sh, -c, "echo started; sleep 300"]}}
        """, doll_image, "[long] started\n", new_session=True)
    try:
        run_dir = Path(lines[0].rsplit("volumes in ", 1)[1].strip())
        assert run_dir.is_dir() and _pod_left("e2e-edges-twice-pod"), lines
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            os.killpg(proc.pid, signal.SIGINT)
            time.sleep(0.05)
        _, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, errors
    assert "Traceback" not in errors and errors.endswith("doll run: interrupted\n"), errors
    assert set(errors.splitlines()) <= {"doll run: interrupted", "doll run: cleaning up, please wait"}, errors
    assert not _pod_left("e2e-edges-twice-pod") and not run_dir.exists()
    names = subprocess.run(["podman", "ps", "-a", "--format", "{{.Names}}"], capture_output=True, text=True,
                           check=True).stdout.split()
    assert not [n for n in names if n.startswith("e2e-edges-twice-pod")], names


@pytest.mark.podman
def test_a_pod_podman_cannot_start_gets_a_hint_at_containers_conf(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    """An rlimit that cannot be raised is what this host does without scripts/containers.conf."""
    conf = (ROOT / "scripts" / "containers.conf").read_text().replace("nofile=20000:20000",
                                                                      "nofile=2000000000:2000000000")
    (tmp_path / "containers.conf").write_text(conf)
    pods.append("e2e-edges-hint-pod")
    (tmp_path / "t.yaml").write_text(taskrun("e2e-edges-hint", f"steps:\n  - {{name: a, image: {busybox_image}, "
                                                               "command: ['true']}"))
    done = _doll_run("t.yaml", "--image", doll_image, cwd=tmp_path,
                     env={**os.environ, "CONTAINERS_CONF": str(tmp_path / "containers.conf")})
    assert done.returncode == 3, done
    notes = done.stdout.splitlines()[1:]
    assert notes[0].startswith("doll: the pod did not start: podman kube: "), notes
    assert notes[1:] == [
        'doll: hint: where crun refuses the host\'s cgroups or raising rlimits is not permitted, podman needs '
        f'runtime "runc", cgroup_manager "cgroupfs" and default_ulimits as in {ROOT}/scripts/containers.conf: '
        f'export CONTAINERS_CONF={ROOT}/scripts/containers.conf (README, doll run; CONTAINERS_CONF is '
        f'{tmp_path}/containers.conf now)'], notes
    assert not _pod_left("e2e-edges-hint-pod")


@pytest.mark.podman
def test_a_pod_that_fails_for_its_own_reasons_gets_no_hint_about_the_host(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    pods.append("e2e-edges-nohint-pod")
    (tmp_path / "t.yaml").write_text(taskrun(
        "e2e-edges-nohint", f"workspaces: [{{name: creds}}]\nsteps:\n  - {{name: a, image: {busybox_image}, "
                            "command: ['true']}", "workspaces: [{name: creds, secret: {secretName: e2e-edges-none}}]"))
    done = _doll_run("t.yaml", "--image", doll_image, cwd=tmp_path,
                     env={**os.environ, "CONTAINERS_CONF": str(ROOT / "scripts" / "containers.conf")})
    assert done.returncode == 3, done
    assert "no such secret" in done.stdout and "hint:" not in done.stdout, done.stdout
    assert not _pod_left("e2e-edges-nohint-pod")


def _reading_until(proc: subprocess.Popen[str], lines: list[str], wanted: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(wanted):
            return
    raise AssertionError(f"doll run ended before {wanted!r}: {lines}")


def _killing_supervisor(pod: str) -> None:
    subprocess.run(["podman", "kill", "--signal", "KILL", f"{pod}-doll-supervisor"], capture_output=True, check=True)


def _finishing(proc: subprocess.Popen[str], lines: list[str]) -> str:
    try:
        rest, errors = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, errors) == (0, ""), "".join(lines) + rest + errors
    return "".join(lines) + rest


@pytest.mark.podman
def test_steps_that_finish_after_the_supervisor_died_give_the_outcome(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    one = f'{{name: one, image: {busybox_image}, command: [sh, -c, "echo one started; sleep 2"]}}'
    two = f"{{name: two, image: {busybox_image}, command: [echo, two ran]}}"
    proc, lines = _starting(tmp_path, pods, "e2e-edges-nosup", f"steps: [{one}, {two}]", doll_image,
                            "[one] one started\n")
    _killing_supervisor("e2e-edges-nosup-pod")  # restarted at once; killed again: the next restart is 10 s away
    _reading_until(proc, lines, "doll: the supervisor died (exit 137) before the run ended; restarting it now")
    time.sleep(0.3)
    _killing_supervisor("e2e-edges-nosup-pod")
    output = _finishing(proc, lines)
    assert "[two] two ran\n" in output and "\ntask: Succeeded\n" in output, output
    assert "restarting it in 10 s, as a kubelet would (restart 2)\n" in output, output
    assert ("doll: the supervisor died (exit 137) before deciding; the outcome comes from the steps' own records "
            "(post files, exit codes)\n") in output, output


@pytest.mark.podman
def test_a_supervisor_killed_mid_run_is_restarted_and_every_step_keeps_its_times(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    steps = ", ".join([f'{{name: s1, image: {busybox_image}, command: [sh, -c, "echo s1 started; sleep 2"]}}'] + [
        f"{{name: s{i}, image: {busybox_image}, command: [echo, s{i} ran]}}" for i in (2, 3, 4)])
    report = tmp_path / "report.json"
    proc, lines = _starting(tmp_path, pods, "e2e-edges-restart", f"steps: [{steps}]", doll_image,
                            "[s1] s1 started\n", False, "--report", str(report))
    _killing_supervisor("e2e-edges-restart-pod")
    output = _finishing(proc, lines)
    assert ("doll: the supervisor died (exit 137) before the run ended; restarting it now, as a kubelet would "
            "(restart 1)\n") in output, output
    assert "\ntask: Succeeded\n" in output and "before deciding" not in output, output
    assert [line for line in output.splitlines() if line.endswith(" ran")] == [f"[s{i}] s{i} ran" for i in (2, 3, 4)]
    steps_seen = json.loads(report.read_text())["steps"]
    assert all(s["started_at"] and s["finished_at"] and s["exit_code"] == 0 for s in steps_seen), steps_seen
    assert all(a["finished_at"] <= b["started_at"] for a, b in zip(steps_seen, steps_seen[1:])), steps_seen
    assert " - " not in output.split("STEP", 1)[1], output


@pytest.mark.podman
def test_metrics_port_says_how_long_the_supervisor_lingers_and_linger_seconds_bounds_it(
        tmp_path: Path, doll_image: str, busybox_image: str, pods: list[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pods.append("e2e-edges-linger-pod")
    (tmp_path / "t.yaml").write_text(taskrun("e2e-edges-linger", f"steps:\n  - {{name: a, image: {busybox_image}, "
                                                                 "command: ['true']}"))
    started = time.monotonic()
    done = _doll_run("t.yaml", "--image", doll_image, "--metrics-port", str(port), "--linger-seconds", "2",
                     cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, ""), done
    assert done.stdout.splitlines()[1] == (
        f"doll: metrics on http://127.0.0.1:{port}/metrics; after the run the supervisor serves them until one "
        "scrape, at most 2 s (--linger-seconds 0: not at all)"), done.stdout
    assert time.monotonic() - started < 30  # not the default 60 s linger
