"""Helpers for the generator's tests: generate from YAML text and validate strictly (cached validators)."""

from __future__ import annotations

import functools
import textwrap
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils
from referencing import Registry, Resource

from generator.tekton.generating import GenerateOptions, generate

VERSIONS = ("1.29.0", kubernetes_validate.latest_version())


@functools.cache
def _validator(version: str, kind: str, api_version: str) -> Any:
    """kubernetes_validate.validate builds a fresh validator per call (~0.2 s); this keeps one per schema."""
    group = api_version.split("/")[0].split(".")[0] + "-" + api_version.split("/")[-1] if "/" in api_version \
        else api_version
    directory = f"kubernetes-json-schema/v{version}-local-strict"
    schema = utils.schema_contents(f"{directory}/{kind.lower()}-{group}.json", version)
    definitions = utils.schema_contents(f"{directory}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def validate_strictly(obj: dict[str, Any]) -> None:
    """kubernetes-validate --strict against Kubernetes 1.29 and the newest schema it ships.

    The first object of each kind also goes through kubernetes_validate.validate itself, so the cached
    validators are checked against the library's own answer."""
    for version in VERSIONS:
        key = (version, obj["kind"], obj["apiVersion"])
        if key not in _checked:
            kubernetes_validate.validate(obj, version, strict=True)
            _checked.add(key)
        _validator(*key).validate(obj)


_checked: set[tuple[str, str, str]] = set()


def gen(text: str, params: dict[str, str] | None = None, **options: Any) -> list[dict[str, Any]]:
    options.setdefault("registry", None)
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
