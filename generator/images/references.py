"""Image references as Docker spells them: `[registry/]repository[:tag][@digest]`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.errors import GenerateError

__all__ = ["DOCKER_HUB", "Reference", "parse"]

DOCKER_HUB = "registry-1.docker.io"
_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class Reference:
    registry: str  # host[:port]
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def reference(self) -> str:
        """What to put in /v2/<repo>/manifests/<reference>: the digest when pinned, else the tag."""
        return self.digest or self.tag

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}" + (f":{self.tag}" if self.tag else "") + (
            f"@{self.digest}" if self.digest else "")


def parse(image: str) -> Reference:
    rest, _, digest = image.partition("@")
    if digest and not _DIGEST.match(digest):
        raise GenerateError(f"image {image}: {digest!r} is not a digest")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest
    name, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    if not colon:
        name, tag = path, ""
    if registry == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    if not _REPO.match(name):
        raise GenerateError(f"image {image}: {name!r} is not a repository name")
    if tag and not _TAG.match(tag):
        raise GenerateError(f"image {image}: {tag!r} is not a tag")
    if registry in ("docker.io", "index.docker.io"):
        registry = DOCKER_HUB
    return Reference(registry, name, tag or ("" if digest else "latest"), digest)
