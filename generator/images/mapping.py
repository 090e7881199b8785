"""An offline image map, YAML or JSON, consulted before the registry (`--image-map FILE`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from generator.errors import GenerateError, quote
from generator.images.sources import ImageCommand, ImageConfigSource, Platforms

__all__ = ["MappingSource"]


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GenerateError(f"{where}: expected a list of strings, got {quote(value)}")
    return tuple(value)


def _command(value: Any, where: str) -> ImageCommand:
    if not isinstance(value, dict):
        raise GenerateError(f"{where}: expected an object with entrypoint and cmd")
    for key in value:
        if key not in ("entrypoint", "cmd"):
            raise GenerateError(f"{where}.{key}: unknown (entrypoint, cmd)")
    return ImageCommand(_strings(value.get("entrypoint"), f"{where}.entrypoint"),
                        _strings(value.get("cmd"), f"{where}.cmd"))


class MappingSource:
    """An offline file, YAML or JSON: `IMAGE: {entrypoint: [...], cmd: [...]}` or
    `IMAGE: {platforms: {linux/amd64: {entrypoint: ..., cmd: ...}, ...}}`."""

    def __init__(self, mapping: Mapping[str, Platforms], fallback: ImageConfigSource | None = None) -> None:
        self.mapping = dict(mapping)
        self.fallback = fallback

    @classmethod
    def from_file(cls, path: str, fallback: ImageConfigSource | None = None) -> MappingSource:
        try:
            data = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except OSError as exc:
            raise GenerateError(f"{path}: cannot read the image map: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise GenerateError(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise GenerateError(f"{path}: expected an object of image -> {{entrypoint, cmd}}")
        mapping: dict[str, Platforms] = {}
        for image, value in data.items():
            where = f"{path}: {image}"
            if isinstance(value, dict) and "platforms" in value:
                platforms = value["platforms"]
                if not isinstance(platforms, dict) or len(value) != 1:
                    raise GenerateError(f"{where}.platforms: expected an object of platform -> command")
                mapping[str(image)] = {str(p): _command(c, f"{where}.platforms.{p}") for p, c in platforms.items()}
            else:
                mapping[str(image)] = {"": _command(value, where)}
        return cls(mapping, fallback)

    async def close(self) -> None:
        """Close the fallback (the registry's HTTP session), if it has anything to close."""
        close = getattr(self.fallback, "close", None)
        if close is not None:
            await close()

    async def lookup(self, image: str) -> Platforms:
        if image in self.mapping:
            return self.mapping[image]
        if self.fallback is not None:
            return await self.fallback.lookup(image)
        raise GenerateError(f"image {image}: has no command or script and is not in the image map")
