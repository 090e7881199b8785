"""An HTTP-level fake of the Kubernetes API server, for the calls the supervisor makes.

Real TLS (a self-signed certificate for 127.0.0.1 and ::1 made with openssl, handed to the client as the
service account's ca.crt), bearer-token auth (`token`: the one token it accepts; 401 for any other, so a
client still sending a rotated-out token is refused), and the three endpoints: GET a Pod (the object, with
whatever `status` a test gave it, as the kubelet reports it: containerStatuses; 404 for an unknown Pod), PATCH a Pod
(application/merge-patch+json, RFC 7386 semantics, 404 for an unknown Pod, 415 for another patch type; the
answer is the whole patched Pod, with the metadata.uid the API server gave it on creation, a random UUID) and
POST an Event (generateName, 201).  Tests script failures per endpoint: a queue of status codes (403, 404,
409, 429, 500, 503 ...) answered before the real behaviour resumes, and a delay before each answer (a slow API
server).

A failure is answered with a Status object, except 429, answered as kube-apiserver's max-in-flight and
priority-and-fairness filters answer it (k8s.io/apiserver pkg/server/filters/maxinflight.go,
tooManyRequests): `Retry-After: 1` and Go's http.Error body, plain text "Too many requests, please try
again later." and a newline, with `X-Content-Type-Options: nosniff`.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

TOKEN = "doll-test-token"
REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 429: "TooManyRequests",
           500: "InternalError", 503: "ServiceUnavailable"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _too_many_requests(retry_after: str) -> web.Response:
    """kube-apiserver's 429 (filters/maxinflight.go tooManyRequests: Retry-After, then Go's http.Error)."""
    return web.Response(status=429, text="Too many requests, please try again later.\n",
                        content_type="text/plain", charset="utf-8",
                        headers={"Retry-After": retry_after, "X-Content-Type-Options": "nosniff"})


def _status(code: int, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": REASONS.get(code, "Unknown"), "code": code}
    return web.json_response(body, status=code)


class FakeApi:
    def __init__(self, directory: Path, namespace: str = "ci", pods: tuple[str, ...] = ("pod-1",),
                 host: str = "127.0.0.1") -> None:
        self.dir = directory
        self.host = host
        self.token = TOKEN
        self.namespace = namespace
        self.pods: dict[str, dict[str, Any]] = {
            p: {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": p, "namespace": namespace,
                                                              "uid": str(uuid.uuid4()),
                                                              "annotations": {"keep": "me"}}} for p in pods}
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, int]] = []  # (what, status answered)
        self.script: dict[str, list[int]] = {"patch": [], "event": [], "get": []}
        self.delay: dict[str, float] = {"patch": 0.0, "event": 0.0, "get": 0.0}
        self.retry_after = "1"  # what a 429 says (kube-apiserver: always 1)
        self.unblock = asyncio.Event()  # set: slow answers stop waiting
        self.port = 0
        self._runner: web.AppRunner | None = None

    # --- credentials the supervisor reads -----------------------------------------------------------

    @staticmethod
    def certificate(key: Path, cert: Path) -> None:
        """A self-signed certificate for the API server's addresses, as its own CA."""
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=kubernetes",
                        "-addext", "subjectAltName=IP:127.0.0.1,IP:::1"], check=True, capture_output=True)

    def service_account(self) -> Path:
        sa = self.dir / "sa"
        sa.mkdir(exist_ok=True)
        self.certificate(sa / "tls.key", sa / "ca.crt")
        (sa / "token").write_text(self.token)
        (sa / "namespace").write_text(self.namespace)
        return sa

    def environ(self, sa: Path) -> dict[str, str]:
        return {"KUBERNETES_SERVICE_HOST": self.host, "KUBERNETES_SERVICE_PORT": str(self.port),
                "DOLL_SERVICEACCOUNT_DIR": str(sa)}

    def rotate_token(self, token: str) -> None:
        """What the kubelet does to a bound service-account token: a new file put in place atomically; from
        now on only the new token is accepted."""
        path = self.dir / "sa" / "token"
        path.with_name("token.new").write_text(token)
        os.replace(path.with_name("token.new"), path)
        self.token = token

    def distrust(self) -> None:
        """Hand the client a ca.crt that did not sign the server's certificate (same names, another key)."""
        sa = self.dir / "sa"
        self.certificate(sa / "other.key", sa / "ca.crt.new")
        os.replace(sa / "ca.crt.new", sa / "ca.crt")

    # --- serving --------------------------------------------------------------------------------

    async def start(self) -> dict[str, str]:
        sa = self.service_account()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sa / "ca.crt", sa / "tls.key")
        app = web.Application()
        app.router.add_get("/api/v1/namespaces/{ns}/pods/{name}", self._get)
        app.router.add_patch("/api/v1/namespaces/{ns}/pods/{name}", self._patch)
        app.router.add_post("/api/v1/namespaces/{ns}/events", self._event)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=ctx)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.environ(sa)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _scripted(self, what: str, request: web.Request) -> web.Response | None:
        if self.delay.get(what):
            try:
                await asyncio.wait_for(self.unblock.wait(), self.delay[what])
            except TimeoutError:
                pass
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.requests.append((what, 401))
            return _status(401, "Unauthorized")
        if self.script.get(what):
            code = self.script[what].pop(0)
            self.requests.append((what, code))
            return _too_many_requests(self.retry_after) if code == 429 else _status(code, f"scripted {code}")
        return None

    async def _get(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("get", request)
        if scripted is not None:
            return scripted
        name, ns = request.match_info["name"], request.match_info["ns"]
        if ns != self.namespace or name not in self.pods:
            self.requests.append(("get", 404))
            return _status(404, f'pods "{name}" not found')
        self.requests.append(("get", 200))
        return web.json_response(self.pods[name])

    def container_statuses(self, pod: str, **states: dict[str, Any]) -> None:
        """Set the Pod's status.containerStatuses: container name -> {"state": ..., "lastState": ...}."""
        self.pods[pod]["status"] = {"phase": "Running", "containerStatuses": [
            {"name": name, "ready": False, "restartCount": 0, "image": "img", "imageID": "", **st}
            for name, st in states.items()]}

    async def _patch(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("patch", request)
        if scripted is not None:
            return scripted
        name, ns = request.match_info["name"], request.match_info["ns"]
        if request.content_type != "application/merge-patch+json":
            self.requests.append(("patch", 415))
            return _status(415, f"unsupported patch type {request.content_type}")
        if ns != self.namespace or name not in self.pods:
            self.requests.append(("patch", 404))
            return _status(404, f'pods "{name}" not found')
        self.pods[name] = merge_patch(self.pods[name], await request.json())
        self.requests.append(("patch", 200))
        return web.json_response(self.pods[name])

    async def _event(self, request: web.Request) -> web.Response:
        scripted = await self._scripted("event", request)
        if scripted is not None:
            return scripted
        body = await request.json()
        if body.get("kind") != "Event" or not body.get("involvedObject", {}).get("name"):
            self.requests.append(("event", 422))
            return _status(422, "Event is invalid")
        meta = body.setdefault("metadata", {})
        if meta.get("namespace") and meta["namespace"] != request.match_info["ns"]:  # as the API server does
            self.requests.append(("event", 400))
            return _status(400, "the namespace of the provided object does not match the namespace sent on "
                                "the request")
        meta["namespace"] = request.match_info["ns"]
        meta["name"] = meta.get("name") or f"{meta.get('generateName', 'event.')}{len(self.events):05x}"
        self.events.append(body)
        self.requests.append(("event", 201))
        return web.Response(status=201, text=json.dumps(body), content_type="application/json")


Served = tuple[FakeApi, dict[str, str]]  # the fake API server and the supervisor's environment pointing at it
