"""Looking up an image's entrypoint and cmd with the OCI distribution API, over aiohttp.

Anonymous, basic and bearer-token (Docker's token auth) flows; a multi-arch index gives one command per
platform; results are cached on disk (caching.Cache) so a tag costs at most one manifest request per TTL.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from typing import Any

import aiohttp

from generator.errors import GenerateError
from generator.images.caching import Cache
from generator.images.credentials import Credentials, from_docker_config, from_pull_secret
from generator.images.references import Reference, parse
from generator.images.sources import ImageCommand, Platforms, RegistryOptions

__all__ = ["RegistrySource"]

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


def _basic(creds: tuple[str, str]) -> str:
    return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()


class RegistrySource:
    def __init__(self, cache: Cache, credentials: Credentials, insecure: tuple[str, ...] = (),
                 timeout_seconds: float = 10.0) -> None:
        self.cache = cache
        self.credentials = credentials
        self.insecure = set(insecure)
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.session: aiohttp.ClientSession | None = None
        self.tokens: dict[tuple[str, str], str] = {}  # (registry, repository) -> Authorization header
        self.requests: list[str] = []  # "GET url -> 200", for tests and the benchmark

    @classmethod
    def from_options(cls, options: RegistryOptions) -> RegistrySource:
        credentials = from_docker_config(options.docker_config)
        if options.pull_secret:
            credentials.update(from_pull_secret(options.pull_secret))
        return cls(Cache(options.cache_dir, options.cache_ttl_seconds), credentials,
                   options.insecure_registries, options.timeout_seconds)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def lookup(self, image: str) -> Platforms:
        ref = parse(image)
        cached = self._cached(ref)
        if cached is not None:
            return cached
        try:
            if not ref.digest:
                known, _ = self.cache.tag_digest(str(ref))
                if known is not None:  # stale: one HEAD tells whether the tag still points there
                    digest = await self._head(ref)
                    cached = self.cache.platforms(digest) if digest else None
                    if cached is not None:
                        self.cache.remember_tag(str(ref), digest)
                        return cached
            return await self._fetch(ref)
        except aiohttp.ClientError as exc:
            hint = ""
            if ref.registry not in self.insecure and ref.registry.split(":")[0] in ("localhost", "127.0.0.1"):
                hint = f" (plain HTTP? --insecure-registry {ref.registry})"
            raise GenerateError(f"image {image}: registry {ref.registry} unreachable: "
                                f"{type(exc).__name__}: {exc}{hint}") from None
        except asyncio.TimeoutError:
            raise GenerateError(f"image {image}: registry {ref.registry} did not answer in "
                                f"{self.timeout.total} s") from None

    def _cached(self, ref: Reference) -> Platforms | None:
        if ref.digest:
            return self.cache.platforms(ref.digest)
        digest, fresh = self.cache.tag_digest(str(ref))
        return self.cache.platforms(digest) if digest and fresh else None

    async def _head(self, ref: Reference) -> str:
        _, headers = await self._request("HEAD", ref, f"/v2/{ref.repository}/manifests/{ref.tag}", ACCEPT)
        return headers.get("Docker-Content-Digest", "")

    async def _fetch(self, ref: Reference) -> Platforms:
        body, media_type, digest = await self._manifest(ref, ref.reference)
        if not ref.digest:
            self.cache.remember_tag(str(ref), digest)
        cached = self.cache.platforms(digest)
        if cached is not None:
            return cached
        if media_type in INDEX_TYPES or "manifests" in body:
            platforms: Platforms = {}
            for entry in body.get("manifests", []):
                platform = entry.get("platform") or {}
                key = "/".join(p for p in (platform.get("os"), platform.get("architecture"),
                                           platform.get("variant")) if p)
                if not key or platform.get("os") == "unknown":
                    continue  # attestation manifests
                child, _, _ = await self._manifest(ref, entry["digest"])
                platforms[key] = await self._config(ref, child)
            if not platforms:
                raise GenerateError(f"image {ref}: the index lists no platform")
        else:
            platforms = {"": await self._config(ref, body)}
        self.cache.remember_platforms(digest, platforms)
        return platforms

    async def _config(self, ref: Reference, manifest: dict[str, Any]) -> ImageCommand:
        config_digest = (manifest.get("config") or {}).get("digest")
        if not isinstance(config_digest, str):
            raise GenerateError(f"image {ref}: manifest has no config")
        response_body, _ = await self._get(ref, f"/v2/{ref.repository}/blobs/{config_digest}", "*/*")
        try:
            config = json.loads(response_body).get("config") or {}
        except (ValueError, AttributeError):
            raise GenerateError(f"image {ref}: config blob is not JSON") from None
        return ImageCommand(tuple(config.get("Entrypoint") or ()), tuple(config.get("Cmd") or ()))

    async def _manifest(self, ref: Reference, reference: str) -> tuple[dict[str, Any], str, str]:
        body, headers = await self._get(ref, f"/v2/{ref.repository}/manifests/{reference}", ACCEPT)
        digest = headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        try:
            data = json.loads(body)
        except ValueError:
            raise GenerateError(f"image {ref}: manifest is not JSON") from None
        media_type = headers.get("Content-Type", "").split(";")[0].strip() or data.get("mediaType", "")
        return data, media_type, digest

    def _url(self, ref: Reference, path: str) -> str:
        scheme = "http" if ref.registry in self.insecure else "https"
        return f"{scheme}://{ref.registry}{path}"

    async def _get(self, ref: Reference, path: str, accept: str) -> tuple[bytes, dict[str, str]]:
        return await self._request("GET", ref, path, accept)

    async def _request(self, method: str, ref: Reference, path: str, accept: str) -> tuple[bytes, dict[str, str]]:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=self.timeout)
        url = self._url(ref, path)
        for attempt in range(2):
            headers = {"Accept": accept}
            auth = self.tokens.get((ref.registry, ref.repository))
            creds = self.credentials.get(ref.registry)
            if auth is None and creds is not None and attempt == 0:
                auth = _basic(creds)  # saves a 401 round trip on basic-auth registries
            if auth:
                headers["Authorization"] = auth
            async with self.session.request(method, url, headers=headers) as response:
                self.requests.append(f"{method} {url} -> {response.status}")
                body = await response.read()
                if response.status == 401 and attempt == 0:
                    await self._authenticate(ref, response.headers.get("WWW-Authenticate", ""))
                    continue
                if response.status == 401:
                    raise GenerateError(f"image {ref}: unauthorized at {ref.registry} (check the credentials)")
                if response.status == 404:
                    raise GenerateError(f"image {ref}: not found at {ref.registry}")
                if response.status != 200:
                    raise GenerateError(f"image {ref}: {ref.registry} answered HTTP {response.status}")
                return body, dict(response.headers)
        raise GenerateError(f"image {ref}: unauthorized at {ref.registry}")

    async def _authenticate(self, ref: Reference, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        creds = self.credentials.get(ref.registry)
        if scheme == "basic":
            if creds is None:
                raise GenerateError(f"image {ref}: {ref.registry} wants a login and no credentials are given "
                                    "(--docker-config or --pull-secret)")
            self.tokens[(ref.registry, ref.repository)] = _basic(creds)
            return
        if scheme != "bearer":
            raise GenerateError(f"image {ref}: {ref.registry} asks for unsupported auth {challenge[:40]!r}")
        fields = dict(_CHALLENGE.findall(challenge))
        realm = fields.get("realm")
        if not realm:
            raise GenerateError(f"image {ref}: {ref.registry}'s bearer challenge names no realm")
        params = {"scope": fields.get("scope") or f"repository:{ref.repository}:pull"}
        if fields.get("service"):
            params["service"] = fields["service"]
        assert self.session is not None
        headers = {"Authorization": _basic(creds)} if creds else {}
        async with self.session.get(realm, params=params, headers=headers) as response:
            self.requests.append(f"GET {realm} -> {response.status}")
            if response.status != 200:
                raise GenerateError(f"image {ref}: token server {realm} answered HTTP {response.status}")
            data = await response.json(content_type=None)
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str):
            raise GenerateError(f"image {ref}: token server {realm} gave no token")
        self.tokens[(ref.registry, ref.repository)] = f"Bearer {token}"
