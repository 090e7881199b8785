"""A real registry for the tests: Debian's docker-registry on loopback, images pushed over HTTP by hand.

`start_registry` writes a config (htpasswd basic auth, or Docker token auth trusting a test certificate)
and starts `docker-registry serve`; `push_image` uploads blobs and manifests with the distribution API;
`sign_token` mints the JWT a token server hands out (RS256, signed by `openssl dgst`, x5c = the cert).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

USER, PASSWORD = "doll", "s3cret-pass"
SERVICE, ISSUER = "doll-test-registry", "doll-test-issuer"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Registry:
    host: str  # 127.0.0.1:PORT
    process: subprocess.Popen[bytes]


def start_registry(workdir: Path, storage: Path, auth: dict[str, Any]) -> Registry:
    port = free_port()
    config = {
        "version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": "doll-test"}, "auth": auth,
    }
    path = workdir / f"config-{port}.json"  # JSON is YAML
    path.write_text(json.dumps(config))
    log = open(workdir / f"registry-{port}.log", "wb")
    process = subprocess.Popen(["docker-registry", "serve", str(path)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Registry(f"127.0.0.1:{port}", process)
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError("docker-registry did not start: " + (workdir / f"registry-{port}.log").read_text())


def htpasswd(path: Path) -> None:
    subprocess.run(["htpasswd", "-Bbc", str(path), USER, PASSWORD], check=True, capture_output=True)


def make_cert(workdir: Path) -> tuple[Path, Path]:
    key, cert = workdir / "token.key", workdir / "token.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                    "/CN=doll-test-token", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_token(key: Path, cert: Path, scope: str) -> str:
    der = subprocess.run(["openssl", "x509", "-in", str(cert), "-outform", "DER"], check=True,
                         capture_output=True).stdout
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    access = []
    if scope:
        kind, name, actions = scope.split(":", 2)
        access.append({"type": kind, "name": name, "actions": actions.split(",")})
    claims = {"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
              "jti": _b64(hashlib.sha256(str(time.time_ns()).encode()).digest()), "access": access}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}".encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key)], input=signing_input,
                               check=True, capture_output=True).stdout
    return f"{signing_input.decode()}.{_b64(signature)}"


class Pusher:
    """Pushes blobs and manifests to a basic-auth registry with urllib (the distribution API by hand)."""

    def __init__(self, host: str) -> None:
        self.base = f"http://{host}"
        self.auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def _request(self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        request = urllib.request.Request(url if url.startswith("http") else self.base + url, data=body or None,
                                         method=method, headers={"Authorization": self.auth, **(headers or {})})
        return urllib.request.urlopen(request, timeout=10)

    def blob(self, repo: str, data: bytes) -> dict[str, Any]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._request("POST", f"/v2/{repo}/blobs/uploads/") as response:
            location = response.headers["Location"]
        sep = "&" if "?" in location else "?"
        with self._request("PUT", f"{location}{sep}digest={digest}", data,
                           {"Content-Type": "application/octet-stream"}):
            pass
        return {"digest": digest, "size": len(data)}

    def manifest(self, repo: str, reference: str, manifest: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(manifest).encode()
        with self._request("PUT", f"/v2/{repo}/manifests/{reference}", body,
                           {"Content-Type": manifest["mediaType"]}):
            pass
        return {"mediaType": manifest["mediaType"], "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                "size": len(body)}

    def image(self, repo: str, reference: str, entrypoint: list[str] | None, cmd: list[str] | None,
              arch: str = "amd64") -> dict[str, Any]:
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w"):
            pass
        layer_blob = self.blob(repo, gzip.compress(layer.getvalue(), mtime=0))
        config = {"architecture": arch, "os": "linux", "config": {"Entrypoint": entrypoint, "Cmd": cmd},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer.getvalue()).hexdigest()]}}
        config_blob = self.blob(repo, json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_blob},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer_blob}]}
        return self.manifest(repo, reference, manifest)

    def index(self, repo: str, tag: str, children: list[tuple[dict[str, Any], dict[str, str]]]) -> dict[str, Any]:
        manifests = [{**descriptor, "platform": platform} for descriptor, platform in children]
        return self.manifest(repo, tag, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class Images:
    host: str  # basic-auth registry
    token_host: str = ""  # token-auth registry (same storage)
    token_requests: list[str] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    anonymous_host: str = ""  # no auth at all (same storage)
