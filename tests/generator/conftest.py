"""Fixtures for the generator's tests: a real registry (Debian's docker-registry) with pushed images."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import leaks
import pytest
import registries
from registries import Images

def _stop(process: Any) -> None:
    process.terminate()
    try:
        process.wait(5)
    except Exception:
        process.kill()
        process.wait()


class _TokenHandler(http.server.BaseHTTPRequestHandler):
    key: Path
    cert: Path
    log: list[str]

    def do_GET(self) -> None:  # noqa: N802
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        auth = self.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{registries.USER}:{registries.PASSWORD}".encode()).decode()
        self.log.append(f"{query.get('service', [''])[0]} {query.get('scope', [''])[0]} auth={auth == expected}")
        scope = query.get("scope", [""])[0]
        anonymous_ok = scope.startswith("repository:doll-test/public:")  # a public repository: no login
        if auth != expected and not (anonymous_ok and not auth):
            self.send_response(401)
            self.end_headers()
            return
        token = registries.sign_token(self.key, self.cert, query.get("scope", [""])[0])
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    """Two docker-registry processes over one storage: htpasswd basic auth, and token auth."""
    workdir = tmp_path_factory.mktemp("registry")
    storage = workdir / "storage"
    registries.htpasswd(workdir / "htpasswd")
    basic = registries.start_registry(workdir, storage, {"htpasswd": {"realm": "doll-test",
                                                                      "path": str(workdir / "htpasswd")}})
    leaks.allow_process(basic.process.pid)
    key, cert = registries.make_cert(workdir)
    handler = type("Handler", (_TokenHandler,), {"key": key, "cert": cert, "log": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    token = registries.start_registry(workdir, storage, {"token": {
        "realm": realm, "service": registries.SERVICE, "issuer": registries.ISSUER, "rootcertbundle": str(cert)}})
    leaks.allow_process(token.process.pid)
    anonymous = registries.start_registry(workdir, storage, {})
    leaks.allow_process(anonymous.process.pid)
    try:
        pusher = registries.Pusher(basic.host)
        found = Images(basic.host, token.host, handler.log, anonymous_host=anonymous.host)
        found.digests["tool"] = pusher.image("doll-test/tool", "1.0", ["/bin/tool"], ["--help"])["digest"]
        pusher.image("doll-test/cmdonly", "1", None, ["sh", "-c", "echo from-cmd"])
        pusher.image("doll-test/public", "1", ["/public"], None)
        pusher.image("doll-test/nothing", "1", None, None)
        amd = pusher.image("doll-test/multi", "amd", ["/amd64/tool"], ["run"])
        arm = pusher.image("doll-test/multi", "arm", ["/arm64/tool"], ["run"], arch="arm64")
        attestation = pusher.image("doll-test/multi", "att", None, None)
        found.digests["multi"] = pusher.index("doll-test/multi", "2.0", [
            (amd, {"os": "linux", "architecture": "amd64"}),
            (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"}),
            (attestation, {"os": "unknown", "architecture": "unknown"})])["digest"]
        yield found
    finally:
        server.shutdown()
        server.server_close()
        _stop(basic.process)
        _stop(token.process)
        _stop(anonymous.process)
