"""`doll run`: a Tekton TaskRun run locally as one self-driving Pod under podman.

    doll run TASKRUN.yaml [-f task.yaml ...] [-p name=value ...] [--keep] [--debug-on-failure] [--image IMG]

Generate (classic layout), adapt the Pod to podman (generator/local/localizing.py), `podman kube play` it,
show progress and step logs, print a table of the steps, remove the pod (unless --keep).  Exit status:
0 the task succeeded, 1 it did not, 2 bad input, 3 podman missing or unusable or the pod would not start,
130 interrupted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import yaml

from generator.local import podman
from entrypoint.arguments import Parser
from entrypoint.options import UsageError
from generator.errors import GenerateError
from generator.images.sources import ImageCommand, Platforms, RegistryOptions
from generator.local.localizing import LocalizeError, localize
from generator.local.progress import Display, RunView, StepView, final_table
from generator.warning import printed
from generator.local.pod_watching import Watching

if TYPE_CHECKING:
    from generator.images.registry import RegistrySource

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE, EXIT_PODMAN, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_IMAGE = "localhost/doll:dev"
BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "build-image"
CONTAINERS_CONF = BUILD_SCRIPT.parent / "containers.conf"


def _host_problem(error: str) -> bool:
    """Whether a failed `kube play` looks like this host's runtime setup (crun and the cgroups, rlimits), not
    the pod (a missing secret, a bad volume), and the hint's containers.conf is not in use already."""
    if os.environ.get("CONTAINERS_CONF", "") == str(CONTAINERS_CONF):
        return False
    return any(sign in error for sign in ("internal libpod error", "rlimit", "cgroup", "OCI runtime", "crun"))


def _play_hint() -> str:
    """What to check when `kube play` fails for a reason of the host, not of the pod."""
    now = os.environ.get("CONTAINERS_CONF", "")
    return ("hint: where crun refuses the host's cgroups or raising rlimits is not permitted, podman needs "
            f"runtime \"runc\", cgroup_manager \"cgroupfs\" and default_ulimits as in {CONTAINERS_CONF}: "
            f"export CONTAINERS_CONF={CONTAINERS_CONF} (README, doll run; "
            + (f"CONTAINERS_CONF is {now} now)" if now else "CONTAINERS_CONF is not set now)"))


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="doll run", description="Run a Tekton TaskRun locally as one Pod under podman.")
    p.add_argument("taskrun", help="TaskRun (or Task) YAML file; - for stdin")
    p.add_argument("-f", "--file", dest="files", action="append", default=[], help="more YAML (the Task)")
    p.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--keep", action="store_true", help="keep the pod and its volumes afterwards")
    p.add_argument("--debug-on-failure", action="store_true",
                   help="hold a failed step so you can podman exec into it")
    p.add_argument("--image", default="", help=f"the doll image (default {DEFAULT_IMAGE}, built from this "
                   "checkout when its sources changed; an image given here is used as it is)")
    p.add_argument("--name", default="", help="the TaskRun's name (default: from the file)")
    p.add_argument("--image-map", default="", help="offline image -> entrypoint map for steps with no command")
    p.add_argument("--workdir", default="", help="host directory for the pod's volumes (kept afterwards)")
    p.add_argument("--report", default="", help="write the run (steps, times, outcome) here as JSON")
    p.add_argument("--metrics-port", type=int, default=0, metavar="PORT",
                   help="publish the supervisor's metrics on 127.0.0.1:PORT and leave the final scrape to "
                        "your Prometheus (default: a free port, scraped by doll run at the end)")
    p.add_argument("--linger-seconds", type=float, default=60.0, metavar="SECONDS",
                   help="with --metrics-port: after the run the supervisor serves its final metrics until one "
                        "scrape, at most this long (default 60; 0: exit at once)")
    p.add_argument("-v", "--verbose", action="store_true", help="show the supervisor's own log lines too")
    return p


@dataclass(frozen=True)
class RunOptions:
    sources: tuple[tuple[str, str], ...]
    params: dict[str, str]
    keep: bool
    debug_on_failure: bool
    image: str
    name: str
    image_map: str
    workdir: str = ""
    report: str = ""
    metrics_port: int = 0
    verbose: bool = False
    linger_seconds: float = 60.0


def _decoded(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{name}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})") from None


def _read(name: str) -> tuple[str, str]:
    if name == "-":
        return "<stdin>", _decoded("<stdin>", sys.stdin.buffer.read())
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise UsageError(f"{name}: {exc.strerror}") from None
    return name, _decoded(name, data)


def _checking_report(path: str) -> None:
    """Refuse a --report FILE that could not be written, before anything runs."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--report {path}: is a directory")
    if not target.parent.is_dir():
        raise UsageError(f"--report {path}: no such directory {target.parent}")
    if not os.access(target.parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UsageError(f"--report {path}: not writable")


def _making_workdir(workdir: str) -> tuple[Path, bool]:
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


def parsing(argv: list[str]) -> RunOptions:
    ns = _parser().parse_args(argv)
    params: dict[str, str] = {}
    for pair in ns.params:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"-p {pair!r}: expected NAME=VALUE")
        params[name] = value
    if ns.metrics_port and not 0 < ns.metrics_port < 65536:
        raise UsageError(f"--metrics-port {ns.metrics_port}: must be 1-65535")
    sources = [_read(ns.taskrun), *(_read(f) for f in ns.files)]
    if ns.debug_on_failure:
        sources[0] = _with_breakpoint(*sources[0])
    return RunOptions(tuple(sources), params, ns.keep, ns.debug_on_failure, ns.image, ns.name, ns.image_map,
                      ns.workdir, ns.report, ns.metrics_port, ns.verbose, ns.linger_seconds)


def _with_breakpoint(name: str, text: str) -> tuple[str, str]:
    """The TaskRun with Tekton's `debug.breakpoints.onFailure: enabled` set."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise UsageError(f"{name}: malformed YAML: {str(exc).splitlines()[0]}") from None
    runs = [d for d in docs if isinstance(d, dict) and d.get("kind") == "TaskRun"]
    if len(runs) != 1:
        raise UsageError(f"{name}: --debug-on-failure needs exactly one TaskRun in this file")
    spec = runs[0].setdefault("spec", {})
    debug = spec.setdefault("debug", {})
    debug.setdefault("breakpoints", {})["onFailure"] = "enabled"
    return name, yaml.safe_dump_all(docs, sort_keys=False)


# --- the image -------------------------------------------------------------------------------------

def ensuring_image(image: str, build: bool, out: Any) -> None:
    """Build the default image from this checkout when it can (cached by content hash), else require it;
    a build (about a minute) is announced on `out` before it starts."""
    if build and BUILD_SCRIPT.exists():
        proc = subprocess.Popen(["bash", str(BUILD_SCRIPT), image], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, errors="replace")
        last = "(no output)"
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if line.startswith("build-image: building "):  # "build-image: building TAG (HASH): WHY"
                    why = line.strip().rsplit("): ", 1)[-1]
                    out.write(f"doll: building the doll image {image} ({why}); about a minute\n")
                    out.flush()
                elif line.startswith("make-base-image: ") and "debootstrap" in line and "building" in line:
                    out.write("doll: making the image's base with debootstrap first; a few minutes\n")
                    out.flush()
                if line.strip():
                    last = line.strip()
            proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0:
            raise podman.PodmanError(f"building {image} failed: {last}")
    if not podman.image_exists(image):
        raise podman.PodmanError(f"image {image} is not in podman's store; build it with scripts/build-image "
                                 "or pass --image")


class LocalImages:
    """The entrypoint and cmd of a step's image from podman's local store, asked only about the images
    that need it (the last thing generating does, once the input is known good); the registry for an
    image that is not there, or when podman cannot answer."""

    def __init__(self, options: RegistryOptions) -> None:
        self.options = options
        self.registry: RegistrySource | None = None

    async def lookup(self, image: str) -> Platforms:
        if shutil.which("podman") is None:  # not the registry's fault: say what is missing (exit 3)
            raise podman.PodmanError(podman.checking_podman())
        try:
            found: list[dict[str, Any]] = json.loads(podman.podman("image", "inspect", image))
        except (podman.PodmanError, ValueError):
            found = []
        for data in found:
            if image in (data.get("RepoTags") or []):
                config = data.get("Config") or {}
                return {"": ImageCommand(tuple(config.get("Entrypoint") or ()), tuple(config.get("Cmd") or ()))}
        if self.registry is None:
            from generator.images.registry import RegistrySource
            self.registry = RegistrySource.from_options(self.options)
        return await self.registry.lookup(image)

    async def close(self) -> None:
        if self.registry is not None:
            await self.registry.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- running ---------------------------------------------------------------------------------------

class _Interrupted(Exception):
    pass


STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    for sig in STOPPING_SIGNALS:  # once: a second Ctrl-C must not abort the cleanup this one starts
        signal.signal(sig, _deferred)
    raise _Interrupted()


_told_to_wait = False


def _deferred(signum: int, frame: FrameType | None) -> None:
    """SIGINT/SIGTERM while doll run removes what it made: noted, not obeyed."""
    global _told_to_wait
    if not _told_to_wait:
        _told_to_wait = True
        print("doll run: cleaning up, please wait", file=sys.stderr, flush=True)


def _removing(pod: str, run_dir: Path | None) -> None:
    """Remove the pod (with its containers) and the run directory, whatever signals come meanwhile; say
    exactly how to remove what could not be."""
    previous = {sig: signal.signal(sig, _deferred) for sig in STOPPING_SIGNALS}
    try:
        left: list[str] = []
        if pod:
            try:
                podman.removing_pod(pod)
            except (podman.PodmanError, OSError) as exc:
                print(f"doll run: removing pod {pod} failed: {exc}", file=sys.stderr)
                left.append(f"podman pod rm --force --time 0 {pod}")
        if run_dir is not None:
            shutil.rmtree(run_dir, ignore_errors=True)
            if run_dir.exists():
                left.append(f"rm -rf {run_dir}")
        if left:
            print("doll run: remove what is left with:", file=sys.stderr)
            for command in left:
                print(f"doll run:   {command}", file=sys.stderr)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _step_succeeded(step: StepView, steps_dir: Path | None) -> bool:
    """The wrapper's own record: its post file `out` (the run may go on) or `out.err`; else its exit code."""
    if steps_dir is not None:
        if (steps_dir / f"step-{step.name}" / "out.err").exists():
            return False
        if (steps_dir / f"step-{step.name}" / "out").exists():
            return True
    return step.exit_code == 0


def _without_supervisor(view: RunView, pod: str, steps_dir: Path | None, display: Display) -> RunView:
    """No outcome from the supervisor (it died): judge as Tekton would, from the steps' own records; every
    step done with success -> Succeeded."""
    try:
        states = podman.inspecting([f"{pod}-doll-supervisor"])
    except podman.PodmanError:
        states = []
    if not states or states[0].exit_code != 0:
        how = f"exit {states[0].exit_code}" if states else "gone"
        display.note(f"the supervisor died ({how}) before deciding; the outcome comes from the steps' own "
                     "records (post files, exit codes)")
    succeeded = all(_step_succeeded(s, steps_dir) for s in view.steps)
    return dataclasses.replace(view, outcome="Succeeded" if succeeded else "Failed",
                               reason="" if succeeded else "the supervisor died; a step failed or did not end")


def _outcome_code(view: RunView) -> int:
    return EXIT_SUCCEEDED if view.outcome == "Succeeded" else EXIT_FAILED


def _emptying(run_dir: Path, created: bool) -> None:
    """Undo what this run put in --workdir DIR when no pod was played (it was empty, or made here)."""
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
        return
    for child in run_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def running(options: RunOptions, out: Any) -> int:
    """Input first (every error in it is exit 2), then podman, then the image, then the pod."""
    from generator.tekton.generating import GenerateOptions, generate
    if options.report:
        _checking_report(options.report)
    if options.workdir:
        run_dir, created = _making_workdir(options.workdir)
    else:
        run_dir, created = Path(tempfile.mkdtemp(prefix="doll-run-")), True
    os.chmod(run_dir, 0o755)
    pod_name, played = "", False
    try:
        generate_options = GenerateOptions(layout="classic", image=options.image or DEFAULT_IMAGE, name=options.name,
                                           linger_seconds=options.linger_seconds)
        generate_options = dataclasses.replace(generate_options, image_map=options.image_map) if options.image_map \
            else dataclasses.replace(generate_options, image_source=LocalImages(RegistryOptions()))
        pod = generate(options.sources, options.params, generate_options)[0]
        port = options.metrics_port or free_port()
        local = localize(pod, run_dir, port)
        problem = podman.checking_podman()
        if problem:
            raise podman.PodmanError(problem)
        ensuring_image(options.image or DEFAULT_IMAGE, build=not options.image, out=out)
        name = pod["metadata"]["name"]
        if podman.pod_exists(name):
            raise podman.PodmanError(f"a pod named {name} exists already (remove it: podman pod rm -f {name})")
        pod_name = name
        steps = [c["name"][len("step-"):] for c in local.pod["spec"]["containers"] if c["name"].startswith("step-")]
        display = Display(out, live=out.isatty())
        display.note(f"pod {pod_name}: {len(steps)} steps, image {options.image or DEFAULT_IMAGE}, "
                     f"volumes in {run_dir}")
        if options.metrics_port and options.linger_seconds:
            display.note(f"metrics on http://127.0.0.1:{port}/metrics; after the run the supervisor serves them "
                         f"until one scrape, at most {options.linger_seconds:g} s (--linger-seconds 0: not at all)")
        started = time.time()
        played = True
        try:
            podman.playing(yaml.safe_dump(local.pod, sort_keys=False))
        except podman.PodmanError as exc:
            display.note(f"the pod did not start: {exc}")
            if "init container" in str(exc):
                for line in podman.logs(f"{pod_name}-doll-init").splitlines()[-20:]:
                    display.log("doll-init", [line])
            elif _host_problem(str(exc)):
                display.note(_play_hint())
            return EXIT_PODMAN
        view = Watching(pod_name, port, display, steps, local.volumes.get("doll-run", run_dir),
                        release_linger=not options.metrics_port,
                        verbose=options.verbose).run()
        wall = time.time() - started
        if not view.outcome:
            view = _without_supervisor(view, pod_name, local.volumes.get("doll-steps"), display)
        out.write(final_table(view) + f"\nwall time: {wall:.2f}s\n")
        code = _outcome_code(view)
        if options.report:
            try:
                Path(options.report).write_text(json.dumps(
                    {"pod": pod_name, "exit_code": code, "wall_seconds": wall, **dataclasses.asdict(view)},
                    indent=2))
            except OSError as exc:
                print(f"doll run: --report {options.report}: cannot write it: {exc.strerror}", file=sys.stderr)
        return code
    finally:
        if not played:
            if options.workdir:
                _emptying(run_dir, created)
            else:
                _removing("", run_dir)
        elif options.keep:
            out.write(f"doll: kept pod {pod_name} (podman pod rm -f {pod_name}) and {run_dir}\n")
        else:
            _removing(pod_name, None if options.workdir else run_dir)


def main(argv: list[str]) -> int:
    previous = signal.signal(signal.SIGINT, _interrupt)
    term = signal.signal(signal.SIGTERM, _interrupt)
    global _told_to_wait
    _told_to_wait = False
    try:
        with printed("doll run"):  # the generator's and localizing's warnings, as `doll generate` prints them
            options = parsing(argv)
            return running(options, sys.stdout)
    except UsageError as exc:
        print(f"doll run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (GenerateError, LocalizeError) as exc:
        print(f"doll run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except podman.PodmanError as exc:
        print(f"doll run: {exc}", file=sys.stderr)
        return EXIT_PODMAN
    except _Interrupted:
        print("doll run: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        interrupted = signal.getsignal(signal.SIGINT) is not _interrupt
        for sig, handler in ((signal.SIGINT, previous), (signal.SIGTERM, term)):
            # once interrupted, the process only exits: more Ctrl-C must not turn 130 into a death by signal
            signal.signal(sig, signal.SIG_IGN if interrupted else handler)
