"""The `doll generate` command line: a PipelineRun, TaskRun or Task in (files or stdin), its one Pod as YAML or JSON
on stdout, one-line errors (exit 2)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from generator.images.sources import RegistryOptions
from contracts.parsing import Parser
from contracts.errors import DollError, exit_code_for
from generator.errors import GenerateError
from generator.tekton.crediting import credential_secret
from generator.tekton.durations import seconds
from generator.tekton.generating import GenerateOptions, check_registry
from generator.tekton.translating import translate
from generator.tekton.versions import choose_layout
from generator.warning import printed

PROG = "doll generate"

__all__ = ["PROG", "main", "render"]


def _parser() -> argparse.ArgumentParser:
    """One-line errors, and no abbreviations: `--names` is an unknown option, not `--namespace`."""
    p = Parser(prog=PROG, description="Turn a Tekton PipelineRun, TaskRun or Task (tekton.dev/v1, v1beta1) into "
                "ONE self-driving Pod spec for kubectl apply: every task of a PipelineRun in the one Pod.")
    p.add_argument("files", nargs="*", metavar="FILE", help="PipelineRun/TaskRun YAML and the Pipeline, Tasks and "
                   "StepActions it names (or a Task alone); `-` or none: stdin")
    p.add_argument("-f", "--filename", dest="more_files", action="append", default=[], metavar="FILE")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a param value (arrays: a,b,c or JSON; objects: JSON); overrides the PipelineRun's or TaskRun's")
    p.add_argument("--layout", choices=["native", "classic"], default=None,
                   help="native (default): supervisor and sidecars are Kubernetes >= 1.29 native sidecars "
                   "(restartPolicy: Always init containers), so steps start only once the supervisor listens and "
                   "the Pod completes when the steps do; classic: plain containers, for podman and older "
                   "clusters (the default with --kubernetes-version below 1.29)")
    p.add_argument("--kubernetes-version", default="", metavar="X.Y",
                   help="the cluster's version: picks the layout that works there and warns of known kubelet bugs")
    p.add_argument("--pod-security", choices=["privileged", "baseline", "restricted"], default="",
                   help="make the Pod pass this Pod Security Standard (restricted: every container locked "
                   "down) or refuse, in one line, what cannot; default: the Pod as the Task writes it")
    p.add_argument("--limit-range", default="", metavar="FILE",
                   help="the namespace's LimitRange(s) (kubectl get limitrange -o yaml): applied to the steps "
                   "as Tekton does, and doll's own containers fitted into it")
    p.add_argument("--image", default="ghcr.io/doll-ci/doll:0.1.0", help="the doll image (init, supervisor)")
    p.add_argument("--rbac", action="store_true", help="also emit ServiceAccount, Role, RoleBinding")
    p.add_argument("-o", "--output", choices=["yaml", "json"], default="yaml")
    p.add_argument("--name", default="", help="the run's name (default: the PipelineRun's or TaskRun's; for a "
                   "Task, <task>-run-XXXXX)")
    p.add_argument("--namespace", default="", help="overrides the run's namespace")
    p.add_argument("--metrics-port", type=int, default=9090)
    p.add_argument("--linger-seconds", type=float, default=60.0, metavar="SECONDS",
                   help="after the run, serve the final metrics until one scrape, at most this long (default 60)")
    p.add_argument("--pushgateway", default="", metavar="URL",
                   help="also push the final metrics to this Prometheus Pushgateway (batch use)")
    p.add_argument("--timeout", default="1h", metavar="DURATION",
                   help="for a run that gives no timeout (Tekton's default: 1h; 0: none)")
    p.add_argument("--image-map", default="", metavar="FILE",
                   help="offline image -> {entrypoint, cmd} map for steps with neither command nor script")
    p.add_argument("--no-registry-lookup", dest="registry_lookup", action="store_false",
                   help="never ask a registry for an image's entrypoint")
    p.add_argument("--cache-dir", default="", help="image config cache (default ~/.cache/doll/images)")
    p.add_argument("--cache-ttl", type=float, default=3600.0, metavar="SECONDS",
                   help="how long a tag's digest is trusted (default 3600)")
    p.add_argument("--credentials-secret", action="append", default=[], metavar="NAME[=git:URL|docker:URL]",
                   help="a Secret whose credentials doll init writes to $(credentials.path) (repeatable)")
    p.add_argument("--docker-config", default="", metavar="FILE", help="registry credentials (config.json)")
    p.add_argument("--pull-secret", default="", metavar="FILE",
                   help="registry credentials: a kubernetes.io/dockerconfigjson Secret file")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST:PORT",
                   help="speak plain HTTP to this registry")
    return p


def _read(name: str) -> tuple[str, str]:
    if name == "-":
        data = sys.stdin.buffer.read()
        try:
            return "stdin", data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise GenerateError(f"stdin: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})") \
                from None
    try:
        with open(name, encoding="utf-8") as f:
            return name, f.read()
    except OSError as exc:
        raise GenerateError(f"{name}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise GenerateError(f"{name}: not UTF-8 text") from None


def _params(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise GenerateError(f"-p {pair}: expected NAME=VALUE")
        if name in out:
            raise GenerateError(f"-p {name}: given twice")
        out[name] = value
    return out


def render(objects: list[dict[str, Any]], output: str) -> str:
    if output == "json":
        doc: Any = objects[0] if len(objects) == 1 else {"apiVersion": "v1", "kind": "List", "items": objects}
        return json.dumps(doc, indent=2) + "\n"
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(objects, Dumper=dumper, sort_keys=False, default_flow_style=False, width=120)


def main(argv: list[str]) -> int:
    with printed(PROG):
        try:
            ns = _parser().parse_args(argv)
            names = [*ns.files, *ns.more_files] or ["-"]
            sources = [_read(name) for name in names]
            registry = RegistryOptions(ns.cache_dir, ns.cache_ttl, ns.docker_config, ns.pull_secret,
                                       tuple(ns.insecure_registry))
            check_registry(registry)
            options = GenerateOptions(
                layout=choose_layout(ns.layout, ns.kubernetes_version), image=ns.image, rbac=ns.rbac,
                name=ns.name, namespace=ns.namespace,
                metrics_port=ns.metrics_port, linger_seconds=ns.linger_seconds, pushgateway=ns.pushgateway,
                image_map=ns.image_map, registry=registry if ns.registry_lookup else None,
                default_timeout_seconds=seconds(ns.timeout, "--timeout"), pod_security=ns.pod_security,
                limit_range=ns.limit_range, kubernetes_version=ns.kubernetes_version,
                credentials=tuple(credential_secret(text) for text in ns.credentials_secret))
            text = render(translate(sources, _params(ns.param), options), ns.output)
        except DollError as exc:
            print(f"{PROG}: {' '.join(str(exc).split())}", file=sys.stderr)
            return exit_code_for(exc)
    sys.stdout.write(text)
    return 0
