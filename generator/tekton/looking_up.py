"""The images' entrypoints, looked up for the steps and sidecars with neither command nor script: all at once,
last (the only part of generating that may touch the network)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable

from generator.errors import GenerateError
from generator.images.choosing import source_for
from generator.images.sources import ImageConfigSource, Platforms
from generator.tekton.generate_options import GenerateOptions
from generator.tekton.preparing import Prepared
from generator.tekton.wrapping import needs_lookup

__all__ = ["lookups"]


def _source(options: GenerateOptions) -> ImageConfigSource:
    if options.image_source is not None:
        return options.image_source
    return source_for(options.image_map, options.registry)


async def _lookup_all(source: ImageConfigSource, wanted: dict[str, str]) -> dict[str, Platforms]:
    async def one(image: str, where: str) -> tuple[str, Platforms]:
        try:
            return image, await source.lookup(image)
        except GenerateError as exc:
            raise GenerateError(f"{where}: {exc}") from None
    try:
        results = await asyncio.gather(*(one(image, where) for image, where in wanted.items()))
    finally:  # also when a lookup failed: an unclosed registry session is two lines of noise after the error
        close = getattr(source, "close", None)
        if close is not None:
            await close()
    return dict(results)


def lookups(prepared: Iterable[Prepared], options: GenerateOptions) -> dict[str, Platforms]:
    """Each image that a container needs looked up -> its platforms' commands (one batch, whatever the tasks)."""
    wanted: dict[str, str] = {}
    for p in prepared:
        if needs_lookup(p):
            wanted.setdefault(p.spec["image"], p.where)
    if not wanted:
        return {}
    source = _source(options)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_lookup_all(source, wanted))
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from async code (doll run)
        return pool.submit(asyncio.run, _lookup_all(source, wanted)).result()
