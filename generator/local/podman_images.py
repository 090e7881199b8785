"""Image config lookup for `doll run`: podman's local store first, the registry for what is not there."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

from generator.images.sources import ImageCommand, Platforms, RegistryOptions
from generator.local import podman

__all__ = ["LocalImages"]

if TYPE_CHECKING:
    from generator.images.registry import RegistrySource


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
            from generator.images.registry import RegistrySource  # aiohttp: only when the registry is asked
            self.registry = RegistrySource.from_options(self.options)
        return await self.registry.lookup(image)

    async def close(self) -> None:
        if self.registry is not None:
            await self.registry.close()
