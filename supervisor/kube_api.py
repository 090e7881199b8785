"""The Kubernetes API from inside the Pod: in-cluster credentials and the `PodApi`s.

The supervisor makes three calls: merge-patch its Pod's annotations and create an Event (publishing.py), and
GET its Pod while a released step's wrapper was never heard (stalls.py).  The
patch's answer is the whole Pod, as the API server answers any PATCH: `patch_pod` returns its metadata.uid,
which the supervisor cannot read from the downward API under podman and which Events need.
`HttpPodApi`, the default (`doll supervise --kube-client http`), makes them on aiohttp's client, which the
supervisor loads anyway for its HTTP server.  `KubernetesApi` (`--kube-client kubernetes-asyncio`) makes them
through kubernetes-asyncio, whose import loads every API model it has: ~40 MB more RSS and 0.5-0.9 s of CPU,
against the supervisor's 60 MB target.  It stays as the reference the tests hold `HttpPodApi` to.

The credentials are read as client-go's InClusterConfig reads them: the API server is
https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT (an IPv6 literal in brackets), verified with the
service account's ca.crt; the service account's token is the bearer token and its namespace file the
default namespace (in $DOLL_SERVICEACCOUNT_DIR, default /var/run/secrets/kubernetes.io/serviceaccount).
Bound service-account tokens rotate: `HttpPodApi` re-reads the token file when it changed (inode, size,
mtime) and at least once a minute (client-go: once a minute).

Every failure is an `ApiFailure`: the HTTP status and the message of the API server's Status, or status 0
when the request was not delivered (network, TLS, timeout) or the credentials are unusable
("in-cluster config: ...").  It carries the answer's Retry-After, in whole seconds as client-go reads it
(rest/request.go retryAfterSeconds), at most RETRY_AFTER_LIMIT: kube-apiserver's max-in-flight and
priority-and-fairness filters answer 429 with one (`1`: tooManyRequests in server/filters/maxinflight.go).
Each client is imported off the event loop, when publishing starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from contracts.errors import DollError
from supervisor.exporting import import_off_loop

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "ApiFailure", "Credentials", "HttpPodApi", "KUBE_CLIENTS", "KubernetesApi", "MESSAGE_LIMIT", "open_pod_api",
    "Opener", "OPENERS", "PodApi", "REQUEST_TIMEOUT", "retry_after", "RETRY_AFTER_LIMIT", "server_url",
    "SERVICE_ACCOUNT_DIR", "service_account_dir", "target_namespace", "TOKEN_REREAD_SECONDS",
]

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
REQUEST_TIMEOUT = 2.0
TOKEN_REREAD_SECONDS = 60.0
MESSAGE_LIMIT = 500
RETRY_AFTER_LIMIT = 3.0  # seconds: a longer Retry-After is cut to this (publishing is best effort, and bounded)


class ApiFailure(DollError):
    def __init__(self, status: int, text: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {text}" if status else text)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked for before the next request, bounded


def retry_after(value: str | None) -> float | None:
    """A Retry-After header's wait: whole seconds >= 0 (as client-go reads it; an HTTP date is ignored, as
    client-go ignores it), at most RETRY_AFTER_LIMIT."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), RETRY_AFTER_LIMIT)


class PodApi(Protocol):
    namespace: str  # resolved: the plan's, else the service account's

    async def patch_pod(self, annotations: dict[str, str | None]) -> str: ...  # the patched Pod's uid
    async def create_event(self, body: dict[str, Any]) -> None: ...
    async def get_pod(self) -> dict[str, Any]: ...  # the Pod, as JSON (status.containerStatuses: stalls.py)
    async def close(self) -> None: ...


def service_account_dir(environ: dict[str, str]) -> str:
    return environ.get("DOLL_SERVICEACCOUNT_DIR", SERVICE_ACCOUNT_DIR)


def target_namespace(pod: str, namespace: str, environ: dict[str, str]) -> str:
    """The plan's namespace, else the service account's; ApiFailure when the Pod or namespace is unknown."""
    if not namespace:
        with contextlib.suppress(OSError), open(os.path.join(service_account_dir(environ), "namespace")) as f:
            namespace = f.read().strip()
    if not (pod and namespace):
        raise ApiFailure(0, "the Pod's name or namespace is unknown")
    return namespace


def server_url(host: str, port: str) -> str:
    """https://host:port, an IPv6 literal in brackets (Go's net.JoinHostPort, as client-go does)."""
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


class Credentials:
    """The in-cluster credentials: API server URL, TLS context from ca.crt, and the (rotating) token."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext, token_file: str) -> None:
        self.url, self.ssl_context, self.token_file = url, ssl_context, token_file
        self._token = ""
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) of the file last read
        self._read_at = 0.0

    @classmethod
    def load(cls, environ: dict[str, str]) -> Credentials:
        host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "")
        if not (host and port):
            raise ApiFailure(0, "in-cluster config: KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set")
        sa = service_account_dir(environ)
        ca = os.path.join(sa, "ca.crt")
        try:
            context = ssl.create_default_context(cafile=ca)
        except (OSError, ssl.SSLError) as exc:  # FileNotFoundError is an OSError; a garbled file an SSLError
            raise ApiFailure(0, f"in-cluster config: {ca}: {exc}") from None
        creds = cls(server_url(host, port), context, os.path.join(sa, "token"))
        try:
            creds.token()
        except (OSError, UnicodeDecodeError) as exc:  # unreadable, or not text
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ApiFailure(0, f"in-cluster config: {creds.token_file}: {reason}") from None
        if not creds._token:
            raise ApiFailure(0, f"in-cluster config: {creds.token_file} is empty")
        return creds

    def token(self) -> str:
        """The current token: re-read when the file changed or a minute went by; kept if the file is unreadable
        (as client-go keeps its cached token).  OSError only when there never was a token."""
        now = time.monotonic()
        try:
            st = os.stat(self.token_file)
            seen: tuple[int, int, int] | None = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError:
            if not self._token:
                raise
            seen = None
        if self._token and seen == self._seen and now - self._read_at < TOKEN_REREAD_SECONDS:
            return self._token
        try:
            with open(self.token_file, encoding="utf-8") as f:
                text = f.read().strip()
        except (OSError, UnicodeDecodeError):
            if not self._token:
                raise
            text = ""
        if text:
            self._token = text
        self._seen, self._read_at = seen, now
        return self._token


def _failure(status: int, reason: str, text: str, wait: str | None = None) -> ApiFailure:
    """The message of the API server's Status object when the body is one, else the reason phrase; `wait` is
    the answer's Retry-After."""
    message = ""
    with contextlib.suppress(ValueError):
        body = json.loads(text)
        if isinstance(body, dict) and body.get("kind") == "Status":
            message = str(body.get("message") or "")
    return ApiFailure(status, (message or reason or text.strip() or "no message")[:MESSAGE_LIMIT], retry_after(wait))


def _object(text: str) -> dict[str, Any]:
    """The object an answer's body is ({} when it is none)."""
    with contextlib.suppress(ValueError):
        body = json.loads(text)
        if isinstance(body, dict):
            return body
    return {}


def _uid(text: str) -> str:
    """metadata.uid of the object an answer's body is ("" when it is none)."""
    meta = _object(text).get("metadata")
    return str(meta["uid"]) if isinstance(meta, dict) and isinstance(meta.get("uid"), str) else ""


class HttpPodApi:
    """The three calls on aiohttp's client (the supervisor loads aiohttp anyway)."""

    def __init__(self, session: aiohttp.ClientSession, creds: Credentials, pod: str, namespace: str) -> None:
        self._session, self.creds = session, creds  # the session bounds every request (ClientTimeout)
        self.pod, self.namespace = pod, namespace
        ns = quote(namespace, safe="")
        self.pod_path = f"/api/v1/namespaces/{ns}/pods/{quote(pod, safe='')}"
        self.events_path = f"/api/v1/namespaces/{ns}/events"

    @classmethod
    async def open(cls, pod: str, namespace: str, environ: dict[str, str],
                   timeout: float = REQUEST_TIMEOUT) -> HttpPodApi:
        namespace = target_namespace(pod, namespace, environ)
        creds = Credentials.load(environ)
        client = await import_off_loop("aiohttp")
        session = client.ClientSession(
            base_url=creds.url, connector=client.TCPConnector(ssl=creds.ssl_context),
            timeout=client.ClientTimeout(total=timeout),
            headers={"Accept": "application/json", "User-Agent": "doll-supervisor"})
        return cls(session, creds, pod, namespace)

    async def _request(self, method: str, path: str, content_type: str, body: dict[str, Any] | None) -> str:
        """The answer's body."""
        from aiohttp import ClientError  # loaded by open(), off the event loop

        headers = {"Authorization": f"Bearer {self.creds.token()}"}
        if body is not None:
            headers["Content-Type"] = content_type
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        try:
            async with self._session.request(method, path, data=data, headers=headers) as response:
                text = await response.text(errors="replace")
                if not 200 <= response.status < 300:
                    raise _failure(response.status, response.reason or "", text, response.headers.get("Retry-After"))
                return text
        except (OSError, TimeoutError, ClientError) as exc:  # not delivered (ssl.SSLError is an OSError)
            raise ApiFailure(0, f"{type(exc).__name__}: {exc}") from None

    async def patch_pod(self, annotations: dict[str, str | None]) -> str:
        return _uid(await self._request("PATCH", self.pod_path, "application/merge-patch+json",
                                        {"metadata": {"annotations": annotations}}))

    async def create_event(self, body: dict[str, Any]) -> None:
        await self._request("POST", self.events_path, "application/json", body)

    async def get_pod(self) -> dict[str, Any]:
        return _object(await self._request("GET", self.pod_path, "", None))

    async def close(self) -> None:
        await self._session.close()


class KubernetesApi:
    """The three calls through kubernetes-asyncio: the reference implementation (heavy to import)."""

    def __init__(self, client: Any, api: Any, pod: str, namespace: str, timeout: float = REQUEST_TIMEOUT) -> None:
        self._client, self._api, self.pod, self.namespace = client, api, pod, namespace
        self.timeout = timeout

    @classmethod
    async def open(cls, pod: str, namespace: str, environ: dict[str, str],
                   timeout: float = REQUEST_TIMEOUT) -> KubernetesApi:
        namespace = target_namespace(pod, namespace, environ)
        sa = service_account_dir(environ)
        kubernetes = await import_off_loop("kubernetes_asyncio")
        config = await import_off_loop("kubernetes_asyncio.config")
        configuration = kubernetes.client.Configuration()
        loader = config.incluster_config.InClusterConfigLoader(
            token_filename=os.path.join(sa, "token"), cert_filename=os.path.join(sa, "ca.crt"), environ=environ)
        try:
            loader.load_and_set(configuration)
        except config.ConfigException as exc:
            raise ApiFailure(0, f"in-cluster config: {exc}") from None
        api_client = kubernetes.client.ApiClient(configuration)
        return cls(api_client, kubernetes.client.CoreV1Api(api_client), pod, namespace, timeout)

    async def _call(self, coro: Any) -> Any:
        from kubernetes_asyncio.client.exceptions import ApiException

        try:
            return await coro
        except ApiException as exc:
            wait = exc.headers.get("Retry-After") if exc.headers else None
            raise ApiFailure(int(exc.status or 0), str(exc.reason), retry_after(wait)) from None
        except Exception as exc:  # OSError, timeouts, aiohttp's client errors: all mean "not delivered"
            raise ApiFailure(0, f"{type(exc).__name__}: {exc}") from None

    async def patch_pod(self, annotations: dict[str, str | None]) -> str:
        pod = await self._call(self._api.patch_namespaced_pod(
            self.pod, self.namespace, {"metadata": {"annotations": annotations}},
            _content_type="application/merge-patch+json", _request_timeout=self.timeout))
        return str(getattr(pod.metadata, "uid", None) or "")  # a V1Pod

    async def create_event(self, body: dict[str, Any]) -> None:
        await self._call(self._api.create_namespaced_event(self.namespace, body, _request_timeout=self.timeout))

    async def get_pod(self) -> dict[str, Any]:
        pod = await self._call(self._api.read_namespaced_pod(self.pod, self.namespace, _request_timeout=self.timeout))
        return dict(self._client.sanitize_for_serialization(pod))  # a V1Pod, back to the API's JSON names

    async def close(self) -> None:
        await self._client.close()


Opener = Callable[[str, str, dict[str, str], float], Awaitable[PodApi]]
OPENERS: dict[str, Opener] = {"http": HttpPodApi.open, "kubernetes-asyncio": KubernetesApi.open}
KUBE_CLIENTS = tuple(OPENERS)  # `doll supervise --kube-client`; the first is the default


async def open_pod_api(client: str, pod: str, namespace: str, environ: dict[str, str],
                       timeout: float = REQUEST_TIMEOUT) -> PodApi:
    """The `PodApi` of the client named (one of KUBE_CLIENTS); ApiFailure when credentials are unusable."""
    return await OPENERS[client](pod, namespace, environ, timeout)
