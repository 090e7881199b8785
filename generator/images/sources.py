"""Where an image's entrypoint and cmd come from when a step gives neither command nor script: the face.

`ImageConfigSource` is the swappable part: the registry (registry.RegistrySource), an offline mapping
file (mapping.MappingSource), or nothing (NoSource: refuse with a clear line); choosing.source_for picks
one from what the command line gave.  `RegistryOptions` is all the registry needs to know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Protocol

from generator.errors import GenerateError

__all__ = ["ImageCommand", "ImageConfigSource", "NoSource", "Platforms", "RegistryOptions", "dump"]


@dataclass(frozen=True)
class ImageCommand:
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {"entrypoint": list(self.entrypoint), "cmd": list(self.cmd)}


Platforms = dict[str, ImageCommand]  # "linux/amd64" -> its command; "" when the image is not multi-arch


class ImageConfigSource(Protocol):
    async def lookup(self, image: str) -> Platforms:
        """The image's entrypoint and cmd per platform; raise GenerateError("image X: why") if unknown."""
        ...


@dataclass(frozen=True)
class RegistryOptions:
    """What a registry lookup needs from the command line (`doll generate`'s options, `doll run`'s)."""

    cache_dir: str = ""  # default: $XDG_CACHE_HOME/doll/images
    cache_ttl_seconds: float = 3600.0  # a tag's digest is trusted this long
    docker_config: str = ""  # default: $DOCKER_CONFIG/config.json or ~/.docker/config.json
    pull_secret: str = ""  # a kubernetes.io/dockerconfigjson Secret (YAML/JSON file)
    insecure_registries: tuple[str, ...] = ()  # host:port spoken to over plain http
    timeout_seconds: float = 10.0


class NoSource:
    async def lookup(self, image: str) -> Platforms:
        raise GenerateError(f"image {image}: has no command or script and image lookup is off "
                            "(--no-registry-lookup); give its entrypoint with --image-map FILE")


def dump(platforms: Platforms) -> str:
    return json.dumps({p: c.to_json() for p, c in platforms.items()}, sort_keys=True)
