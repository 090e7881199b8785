"""The on-disk image config cache: configs keyed by manifest digest (forever), tags -> digest with a TTL.

    <dir>/digests/<algo>-<hex>.json   {"platforms": {"linux/amd64": {"entrypoint": [...], "cmd": [...]}}}
    <dir>/tags/<sha256 of registry/repo:tag>.json   {"image": ..., "digest": ..., "checked_at": unix time}

Within the TTL a tag costs no request; after it, one HEAD of its manifest (its digest usually hits
the digest cache; HEADs do not count against Docker Hub's pull rate limit).  Writes are atomic (temp
file + rename), so concurrent runs never read half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from generator.images.sources import ImageCommand, Platforms

__all__ = ["Cache", "default_dir"]


def default_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "doll" / "images")


class Cache:
    def __init__(self, directory: str, ttl_seconds: float, clock: Any = time.time) -> None:
        self.dir = Path(directory or default_dir())
        self.ttl = ttl_seconds
        self.clock = clock

    def _read(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def _write(self, path: Path, data: Any) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w") as f:
                json.dump(data, f, sort_keys=True)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs requests

    def _tag_path(self, image: str) -> Path:
        return self.dir / "tags" / (hashlib.sha256(image.encode()).hexdigest() + ".json")

    def _digest_path(self, digest: str) -> Path:
        return self.dir / "digests" / (digest.replace(":", "-").replace("/", "_") + ".json")

    def tag_digest(self, image: str) -> tuple[str | None, bool]:
        """The digest a tag pointed at when last checked, and whether that was less than the TTL ago."""
        entry = self._read(self._tag_path(image))
        if not isinstance(entry, dict) or entry.get("image") != image or not isinstance(entry.get("digest"), str):
            return None, False
        checked = entry.get("checked_at")
        fresh = isinstance(checked, (int, float)) and 0 <= self.clock() - checked < self.ttl
        return entry["digest"], fresh

    def remember_tag(self, image: str, digest: str) -> None:
        self._write(self._tag_path(image), {"image": image, "digest": digest, "checked_at": self.clock()})

    def platforms(self, digest: str) -> Platforms | None:
        entry = self._read(self._digest_path(digest))
        if not isinstance(entry, dict) or not isinstance(entry.get("platforms"), dict):
            return None
        try:
            return {p: ImageCommand(tuple(c["entrypoint"]), tuple(c["cmd"])) for p, c in entry["platforms"].items()}
        except (KeyError, TypeError):
            return None

    def remember_platforms(self, digest: str, platforms: Platforms) -> None:
        self._write(self._digest_path(digest), {"platforms": {p: c.to_json() for p, c in platforms.items()}})
