"""Helpers for the generator's tests: generate from YAML text and validate strictly."""

from __future__ import annotations

import textwrap
from typing import Any

import kubernetes_validate
import pytest

from generator.generating import GenerateOptions, generate

VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


def validate_strictly(obj: dict[str, Any]) -> None:
    """kubernetes-validate --strict against Kubernetes 1.29 and the newest schema it ships."""
    for version in VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


def gen(text: str, params: dict[str, str] | None = None, **options: Any) -> list[dict[str, Any]]:
    options.setdefault("registry_lookup", False)
    return generate([("run.yaml", textwrap.dedent(text))], params or {}, GenerateOptions(**options))


def pod_of(text: str, params: dict[str, str] | None = None, **options: Any) -> dict[str, Any]:
    objects = gen(text, params, **options)
    for obj in objects:
        validate_strictly(obj)
    return objects[0]


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for c in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]:
        if c["name"] == name:
            return c
    raise AssertionError(f"no container {name!r} in {[c['name'] for c in pod['spec']['containers']]}")


def wrapped_command(c: dict[str, Any]) -> list[str]:
    """The command the wrapper runs: everything after `--` in its arguments."""
    args = c["args"]
    return list(args[args.index("--") + 1:])


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
