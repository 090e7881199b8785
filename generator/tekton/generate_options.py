"""What `doll generate` (and `doll run`) ask of the generator: `GenerateOptions`, checked before any input is read."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from generator.errors import GenerateError, quote
from generator.images.sources import ImageConfigSource, RegistryOptions
from generator.tekton import crediting
from generator.tekton.loading import DNS_LABEL
from generator.tekton.pod_security import LEVELS
from generator.tekton.resources import limit_range
from generator.tekton.versions import parse

__all__ = ["GenerateOptions", "check_options", "check_registry"]


@dataclass(frozen=True)
class GenerateOptions:
    layout: Literal["native", "classic"] = "native"
    image: str = "ghcr.io/doll-ci/doll:0.1.0"  # the doll image (init + supervisor)
    rbac: bool = False
    name: str = ""  # the run's name (default: the run's, or <task>-run-<random> for a bare Task)
    namespace: str = ""  # overrides the run's metadata.namespace
    metrics_port: int = 9090
    linger_seconds: float = 60.0  # after the run the supervisor serves final metrics until a scrape, at most this
    pushgateway: str = ""  # the supervisor also pushes the final metrics here (batch use)
    image_map: str = ""  # offline file: image -> {entrypoint, cmd}; consulted before the registry
    # how to ask registries for the entrypoint of steps with neither command nor script; None: never ask
    registry: RegistryOptions | None = field(default_factory=RegistryOptions)
    default_timeout_seconds: float | None = 3600.0  # a run that gives no timeout gets Tekton's default, 60 min
    image_source: ImageConfigSource | None = None  # replaces map + registry (e.g. `podman image inspect`)
    pod_security: str = ""  # "" (as written) | privileged | baseline | restricted (pod_security.py)
    limit_range: str = ""  # a file with the namespace's LimitRange(s) (resources.py)
    kubernetes_version: str = ""  # X.Y[.Z]: warn of known kubelet bugs (versions.py; the CLI picks the layout)
    credentials: tuple[crediting.CredentialSecret, ...] = ()  # Secrets for $(credentials.path) (crediting.py)
    # a Pipeline's every task holds a failed step for debugging (doll run --debug-on-failure): a PipelineRun has no
    # `debug` of its own (a TaskRun's is `debug.breakpoints.onFailure`, which the TaskRun path reads)
    debug_on_failure: bool = False


def check_options(options: GenerateOptions) -> None:
    """What the command line gives, checked before the input and blamed on its option, not on a file."""
    if options.layout not in ("native", "classic"):
        raise GenerateError(f"layout: {quote(options.layout)} is not native or classic")
    if options.namespace and not DNS_LABEL.match(options.namespace):
        raise GenerateError(f"--namespace: {quote(options.namespace)} is not a DNS-1123 label")
    if not 0 < options.metrics_port < 65536:
        raise GenerateError(f"--metrics-port: {options.metrics_port} is not 1-65535")
    if not math.isfinite(options.linger_seconds) or options.linger_seconds < 0:
        raise GenerateError(f"--linger-seconds: {options.linger_seconds} is not a finite number of seconds >= 0")
    if options.pushgateway and not options.pushgateway.startswith(("http://", "https://")):
        raise GenerateError(f"--pushgateway: {quote(options.pushgateway)} is not an http:// or https:// URL")
    if options.pod_security not in ("", *LEVELS):
        raise GenerateError(f"--pod-security: {quote(options.pod_security)} is not one of {', '.join(LEVELS)}")
    if options.kubernetes_version:
        parse(options.kubernetes_version)
    if options.limit_range:
        limit_range(options.limit_range)  # read again at the end: a bad file is told before any lookup
    if options.registry is not None:
        check_registry(options.registry)


def check_registry(registry: RegistryOptions) -> None:
    """The registry options alone (checked also when the lookup is off: a bad --cache-ttl is still bad)."""
    ttl = registry.cache_ttl_seconds
    if not math.isfinite(ttl) or ttl < 0:
        raise GenerateError(f"--cache-ttl: {ttl} is not a finite number of seconds >= 0")
