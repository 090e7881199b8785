"""One `doll run`, in order: the input (every error in it is exit 2), podman, the image, the pod played and
watched, the outcome judged and shown, and what was made removed (unless --keep)."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from contracts.layout import INIT_CONTAINER
from contracts.exits import EXIT_ENVIRONMENT
from generator.images.sources import RegistryOptions
from generator.local import podman
from generator.local.building import DEFAULT_IMAGE, ensuring_image, host_problem, play_hint
from generator.local.cleaning import removing
from generator.local.command_line import RunOptions
from contracts.plans import Plan
from generator.local.judging import outcome_code, pod_plan, without_supervisor
from generator.local.localizing import LocalPod, free_port, localize
from generator.local.pod_watching import Watching
from generator.local.objects import Objects, credentials, taking_objects
from generator.local.podman_images import LocalImages
from generator.local.progress import Display
from generator.local.summarizing import final_table
from generator.local.views import RunView, planned_view
from generator.local.cross_checking import (disagreements, from_containers, from_post_files, results_as_reported,
                                         step_states)
from generator.local.reporting import checking_report, writing_report
from generator.local.workdir import emptying, making_workdir
from generator.tekton.generating import GenerateOptions
from generator.tekton.translating import translate

__all__ = ["running"]


@dataclass
class _Made:
    """What this run has made so far, for the cleanup."""

    run_dir: Path
    created: bool  # run_dir was made by this run
    pod_name: str = ""
    played: bool = False
    volumes: list[str] = dataclasses.field(default_factory=list)  # named volumes kube play makes for this pod


def running(options: RunOptions, out: Any) -> int:
    """Input first (every error in it is exit 2), then podman, then the image, then the pod."""
    if options.report:
        checking_report(options.report)
    if options.workdir:
        run_dir, created = making_workdir(options.workdir)
    else:
        run_dir, created = Path(tempfile.mkdtemp(prefix="doll-run-")), True
    os.chmod(run_dir, 0o755)
    made = _Made(run_dir, created)
    try:
        return _playing(options, out, made)
    finally:
        _cleaning_up(options, out, made)


def _generating(options: RunOptions, sources: tuple[tuple[str, str], ...], objects: Objects) -> dict[str, Any]:
    """The Pod, classic layout; step images' commands from podman's store (or the registry), or the map; the
    given Secrets Tekton would take for $(credentials.path)."""
    generate_options = GenerateOptions(layout="classic", image=options.image or DEFAULT_IMAGE, name=options.name,
                                       linger_seconds=options.linger_seconds, credentials=credentials(objects),
                                       debug_on_failure=options.debug_on_failure)
    generate_options = dataclasses.replace(generate_options, image_map=options.image_map) if options.image_map \
        else dataclasses.replace(generate_options, image_source=LocalImages(RegistryOptions()))
    pod: dict[str, Any] = translate(sources, options.params, generate_options)[0]
    return pod


def _playing(options: RunOptions, out: Any, made: _Made) -> int:
    sources, objects = taking_objects(options.sources)
    pod = _generating(options, sources, objects)
    port = options.metrics_port or free_port()
    local = localize(pod, made.run_dir, port, objects)
    problem = podman.checking_podman()
    if problem:
        raise podman.PodmanError(problem)
    ensuring_image(options.image or DEFAULT_IMAGE, build=not options.image, out=out)
    name = pod["metadata"]["name"]
    if podman.pod_exists(name):
        raise podman.PodmanError(f"a pod named {name} exists already (remove it: podman pod rm -f {name})")
    made.pod_name = name
    steps = [c["name"][len("step-"):] for c in local.pod["spec"]["containers"] if c["name"].startswith("step-")]
    display = Display(out, live=out.isatty())
    tasks = len(plan.tasks) if (plan := pod_plan(pod)) is not None else 0
    _announcing(display, options, made, (f"{tasks} tasks, " if tasks else "") + f"{len(steps)} steps", port)
    started = time.time()
    made.volumes = _volumes_made(local)
    made.played = True
    if not _started(local, name, display):
        return EXIT_ENVIRONMENT
    view = Watching(name, port, display, steps, local.volumes.get("doll-run", made.run_dir),
                    release_linger=not options.metrics_port, verbose=options.verbose,
                    steps_volume=local.volumes.get("doll-steps"), labels=_log_labels(plan)).run()
    wall = time.time() - started
    view = _reconciled(view, local, name, display)
    out.write(final_table(view) + f"\nwall time: {wall:.2f}s\n")
    code = outcome_code(view)
    if options.report:
        writing_report(options.report, name, code, wall, view)
    return code


def _reconciled(view: RunView, local: LocalPod, pod: str, display: Display) -> RunView:
    """The supervisor's view completed and checked with what the containers left (generator/local/cross_checking.py);
    judged from those alone when the supervisor did not decide."""
    steps_dir = local.volumes.get("doll-steps")
    plan = pod_plan(local.pod)
    view = from_post_files(planned_view(view, plan), steps_dir)
    states = step_states(pod, [s.name for s in view.steps])
    view = from_containers(view, states)
    if not view.outcome:
        view = without_supervisor(view, pod, steps_dir, display, plan)
    view, said = disagreements(view, states)
    for line in said:
        display.note(line)
    return results_as_reported(view, local.termination_files)


def _volumes_made(local: LocalPod) -> list[str]:
    """The named volumes kube play will make for the pod's secret and configMap volumes (named after the
    secret or configMap) that do not exist yet: removed with the pod.  (A persistentVolumeClaim's volume
    stays, as a claim outlives its pods; those given in the input are directories of the run.)"""
    names = {str((v.get("secret") or {}).get("secretName") or (v.get("configMap") or {}).get("name") or "")
             for v in local.pod["spec"].get("volumes") or [] if "secret" in v or "configMap" in v} - {""}
    try:
        return sorted(names - podman.volume_names()) if names else []
    except podman.PodmanError:
        return []


def _announcing(display: Display, options: RunOptions, made: _Made, holding: str, port: int) -> None:
    display.note(f"pod {made.pod_name}: {holding}, image {options.image or DEFAULT_IMAGE}, "
                 f"volumes in {made.run_dir}")
    if options.metrics_port and options.linger_seconds:
        display.note(f"metrics on http://127.0.0.1:{port}/metrics; after the run the supervisor serves them "
                     f"until one scrape, at most {options.linger_seconds:g} s (--linger-seconds 0: not at all)")


def _started(local: LocalPod, pod_name: str, display: Display) -> bool:
    """`podman kube play` the pod; when it would not start, say why (the init container's last lines, or a
    hint about this host) and return False."""
    try:
        podman.playing(yaml.safe_dump(local.pod, sort_keys=False))
    except podman.PodmanError as exc:
        display.note(f"the pod did not start: {exc}")
        if "init container" in str(exc):
            for line in podman.logs(f"{pod_name}-doll-init").splitlines()[-20:]:
                display.log(INIT_CONTAINER, [line])
        elif host_problem(str(exc)):
            display.note(play_hint())
        return False
    return True


def _cleaning_up(options: RunOptions, out: Any, made: _Made) -> None:
    if not made.played:
        if options.workdir:
            emptying(made.run_dir, made.created)
        else:
            removing("", made.run_dir)
    elif options.keep:
        out.write(f"doll: kept pod {made.pod_name} (podman pod rm -f {made.pod_name}) and {made.run_dir}\n")
    else:
        removing(made.pod_name, None if options.workdir else made.run_dir, made.volumes)


def _log_labels(plan: Plan | None) -> dict[str, str]:
    """A pipeline step's log lines say `task/step` (`build/compile`), not its container's name."""
    if plan is None:
        return {}
    return {s.container: f"{s.task}/{s.name[len(s.task) + 1:]}" for s in plan.steps
            if s.task and s.name.startswith(s.task + "-")}
