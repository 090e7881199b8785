"""The `doll run` command line: its options, the PipelineRun/TaskRun and Task files read, -p pairs, --debug-on-failure."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from contracts.parsing import Parser
from contracts.errors import UsageError
from generator.local.building import DEFAULT_IMAGE

__all__ = ["RunOptions", "parsing"]


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="doll run", description="Run a Tekton PipelineRun or TaskRun locally as one Pod under podman.")
    p.add_argument("run", metavar="RUN", help="PipelineRun or TaskRun (or a bare Pipeline or Task) YAML file; - for stdin")
    p.add_argument("-f", "--file", dest="files", action="append", default=[],
                   help="more YAML (the Pipeline, the Tasks, the StepActions)")
    p.add_argument("-p", "--param", dest="params", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--keep", action="store_true", help="keep the pod and its volumes afterwards")
    p.add_argument("--debug-on-failure", action="store_true",
                   help="hold a failed step so you can podman exec into it")
    p.add_argument("--image", default="", help=f"the doll image (default {DEFAULT_IMAGE}, built from this "
                   "checkout when its sources changed; an image given here is used as it is)")
    p.add_argument("--name", default="", help="the run's name (default: from the file)")
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
    sources = [_read(ns.run), *(_read(f) for f in ns.files)]
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
    if any(isinstance(d, dict) and d.get("kind") in ("PipelineRun", "Pipeline") for d in docs):
        return name, text  # a PipelineRun has no `debug`: GenerateOptions.debug_on_failure holds every task's steps
    runs = [d for d in docs if isinstance(d, dict) and d.get("kind") == "TaskRun"]
    if len(runs) != 1:
        raise UsageError(f"{name}: --debug-on-failure needs exactly one TaskRun or PipelineRun in this file")
    spec = runs[0].setdefault("spec", {})
    debug = spec.setdefault("debug", {})
    debug.setdefault("breakpoints", {})["onFailure"] = "enabled"
    return name, yaml.safe_dump_all(docs, sort_keys=False)
