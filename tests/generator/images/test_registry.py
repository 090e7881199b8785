"""Image entrypoint lookup against a real registry (Debian's docker-registry on loopback).

Anonymous is a registry without auth; basic auth is the registry's htpasswd; the bearer flow is
docker-registry's token auth, trusting a certificate the test makes, with a token server in the test
process that signs JWTs with it (openssl) and grants anonymous pulls of doll-test/public only.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from registries import Images

from generator.errors import GenerateError
from generator.images.caching import Cache
from generator.images.registry import RegistrySource
from generator.images.sources import ImageCommand
from registries import PASSWORD, USER

pytestmark = pytest.mark.registry
CREDS = {USER: PASSWORD}


def _source(host: str, cache_dir: Path, ttl: float = 3600.0, creds: bool = True) -> RegistrySource:
    credentials = {host: (USER, PASSWORD)} if creds else {}
    return RegistrySource(Cache(str(cache_dir), ttl), credentials, (host,), timeout_seconds=5)


async def _lookup(source: RegistrySource, image: str) -> dict[str, ImageCommand]:
    try:
        return await source.lookup(image)
    finally:
        await source.close()


async def test_a_single_image_gives_its_entrypoint_and_cmd_with_basic_auth(images: Images, tmp_path: Path) -> None:
    platforms = await _lookup(_source(images.host, tmp_path), f"{images.host}/doll-test/tool:1.0")
    assert platforms == {"": ImageCommand(("/bin/tool",), ("--help",))}


async def test_a_multi_arch_index_gives_one_command_per_platform_without_attestations(
        images: Images, tmp_path: Path) -> None:
    platforms = await _lookup(_source(images.host, tmp_path), f"{images.host}/doll-test/multi:2.0")
    assert platforms == {"linux/amd64": ImageCommand(("/amd64/tool",), ("run",)),
                         "linux/arm64/v8": ImageCommand(("/arm64/tool",), ("run",))}


async def test_the_bearer_token_flow_gets_a_token_for_the_repository_and_uses_it(
        images: Images, tmp_path: Path) -> None:
    images.token_requests.clear()
    platforms = await _lookup(_source(images.token_host, tmp_path), f"{images.token_host}/doll-test/tool:1.0")
    assert platforms == {"": ImageCommand(("/bin/tool",), ("--help",))}
    assert images.token_requests == ["doll-test-registry repository:doll-test/tool:pull auth=True"]


async def test_without_credentials_the_lookup_is_refused_naming_the_image(images: Images, tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match=r"doll-test/tool:1.0: .*no credentials"):
        await _lookup(_source(images.host, tmp_path, creds=False), f"{images.host}/doll-test/tool:1.0")


async def test_wrong_credentials_are_refused(images: Images, tmp_path: Path) -> None:
    source = RegistrySource(Cache(str(tmp_path), 60), {images.host: (USER, "wrong")}, (images.host,), 5)
    with pytest.raises(GenerateError, match="unauthorized"):
        await _lookup(source, f"{images.host}/doll-test/tool:1.0")


async def test_an_unknown_tag_is_refused_as_not_found(images: Images, tmp_path: Path) -> None:
    with pytest.raises(GenerateError, match="not found"):
        await _lookup(_source(images.host, tmp_path), f"{images.host}/doll-test/tool:9.9")


async def test_an_unreachable_registry_is_refused_in_one_line(tmp_path: Path) -> None:
    from registries import free_port
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(GenerateError, match=f"registry {host} unreachable"):
        await _lookup(_source(host, tmp_path), f"{host}/x/y:1")


async def test_within_the_ttl_many_runs_of_one_tag_ask_the_registry_nothing(images: Images, tmp_path: Path) -> None:
    image = f"{images.host}/doll-test/multi:2.0"
    first = _source(images.host, tmp_path)
    await _lookup(first, image)
    assert first.requests
    for _ in range(5):
        again = _source(images.host, tmp_path)
        assert (await _lookup(again, image))["linux/amd64"].entrypoint == ("/amd64/tool",)
        assert again.requests == []


async def test_after_the_ttl_a_tag_costs_one_manifest_request_and_no_get(images: Images, tmp_path: Path) -> None:
    image = f"{images.host}/doll-test/multi:2.0"
    await _lookup(_source(images.host, tmp_path, ttl=0), image)
    again = _source(images.host, tmp_path, ttl=0)
    assert (await _lookup(again, image))["linux/arm64/v8"].entrypoint == ("/arm64/tool",)
    manifests = [r for r in again.requests if "/manifests/" in r]
    assert manifests == [f"HEAD http://{images.host}/v2/doll-test/multi/manifests/2.0 -> 200"]
    assert not any("/blobs/" in r for r in again.requests)


async def test_a_digest_pinned_image_is_cached_for_good(images: Images, tmp_path: Path) -> None:
    image = f"{images.host}/doll-test/tool@{images.digests['tool']}"
    await _lookup(_source(images.host, tmp_path, ttl=0), image)
    again = _source(images.host, tmp_path, ttl=0)
    await _lookup(again, image)
    assert again.requests == []


def test_credentials_come_from_a_pull_secret_file_through_the_cli(images: Images, tmp_path: Path) -> None:
    import subprocess
    import sys
    config = {"auths": {images.host: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
              "metadata": {"name": "pull"}, "data": {".dockerconfigjson": base64.b64encode(
                  json.dumps(config).encode()).decode()}}
    (tmp_path / "secret.json").write_text(json.dumps(secret))
    task = (f"apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {{name: t}}\nspec:\n  steps:\n"
            f"    - name: run\n      image: {images.host}/doll-test/multi:2.0\n      args: [--fast]\n")
    doll = str(Path(sys.executable).with_name("doll"))
    result = subprocess.run([doll, "generate", "-o", "json", "--pull-secret", str(tmp_path / "secret.json"),
                             "--insecure-registry", images.host, "--cache-dir", str(tmp_path / "cache"), "-"],
                            input=task, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pod = json.loads(result.stdout)
    step = [c for c in pod["spec"]["containers"] if c["name"] == "step-run"][0]
    from contracts.options import from_argv
    options = from_argv(step["args"])
    assert options.command == ()
    assert options.platform_commands == {"linux/amd64": ["/amd64/tool", "--fast"],
                                         "linux/arm64/v8": ["/arm64/tool", "--fast"]}


def test_credentials_come_from_a_docker_config_file(images: Images, tmp_path: Path) -> None:
    from generator.images.credentials import from_docker_config
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {f"https://{images.host}/v1/": {"username": USER, "password": PASSWORD}}}))
    assert from_docker_config(str(path)) == {images.host: (USER, PASSWORD)}


async def test_a_registry_without_auth_is_read_anonymously(images: Images, tmp_path: Path) -> None:
    source = _source(images.anonymous_host, tmp_path, creds=False)
    platforms = await _lookup(source, f"{images.anonymous_host}/doll-test/cmdonly:1")
    assert platforms == {"": ImageCommand((), ("sh", "-c", "echo from-cmd"))}
    assert all("-> 200" in r for r in source.requests)


async def test_the_bearer_flow_gets_an_anonymous_token_for_a_public_repository(
        images: Images, tmp_path: Path) -> None:
    images.token_requests.clear()
    source = _source(images.token_host, tmp_path, creds=False)
    platforms = await _lookup(source, f"{images.token_host}/doll-test/public:1")
    assert platforms == {"": ImageCommand(("/public",), ())}
    assert images.token_requests == ["doll-test-registry repository:doll-test/public:pull auth=False"]


def test_credential_helpers_are_not_run_and_say_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from generator.images.credentials import from_docker_config
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "desktop", "auths": {}}))
    assert from_docker_config(str(path)) == {}
    assert "credsStore: credential helpers are not run by doll" in caplog.text
