"""Which ImageConfigSource a run gets from its command line: the image map, the registry, both, or none."""

from __future__ import annotations

from generator.images.mapping import MappingSource
from generator.images.sources import ImageConfigSource, NoSource, RegistryOptions

__all__ = ["source_for"]


def source_for(image_map: str, registry: RegistryOptions | None) -> ImageConfigSource:
    """The image map (when given) in front of the registry (unless `registry` is None: lookup is off)."""
    fallback: ImageConfigSource | None = None
    if registry is not None:
        from generator.images.registry import RegistrySource  # aiohttp: only when a registry may be asked
        fallback = RegistrySource.from_options(registry)
    if image_map:
        return MappingSource.from_file(image_map, fallback)
    return fallback or NoSource()
