"""A sidecar's Kubernetes readinessProbe, reduced to the ProbeSpec the supervisor runs inside the Pod."""

from __future__ import annotations

from typing import Any

from generator.errors import GenerateError, quote
from generator.tekton.specs import RawObject
from contracts.plans import ProbeSpec

__all__ = ["probe_spec"]


def _port(value: Any, ports: list[RawObject], where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        for port in ports:
            if isinstance(port, dict) and port.get("name") == value:
                number = port.get("containerPort")
                if not isinstance(number, int) or isinstance(number, bool):
                    raise GenerateError(f"{where}: named port {quote(value)} has no containerPort")
                return number
        raise GenerateError(f"{where}: named port {quote(value)} is not among the sidecar's ports")
    raise GenerateError(f"{where}: missing")


def probe_spec(probe: Any, ports: list[RawObject], where: str) -> ProbeSpec:
    if not isinstance(probe, dict):
        raise GenerateError(f"{where}: expected an object")
    common: dict[str, Any] = {}
    for key, field, cast in (("initialDelaySeconds", "initial_delay_seconds", float),
                             ("timeoutSeconds", "timeout_seconds", float),
                             ("failureThreshold", "failure_threshold", int),
                             ("successThreshold", "success_threshold", int)):
        if key in probe:
            if not isinstance(probe[key], int) or isinstance(probe[key], bool) or probe[key] < 0:
                raise GenerateError(f"{where}.{key}: {quote(probe[key])} is not a non-negative integer")
            common[field] = cast(probe[key])
    kinds = [k for k in ("httpGet", "tcpSocket", "grpc", "exec") if k in probe]
    if len(kinds) != 1:
        raise GenerateError(f"{where}: needs exactly one of httpGet, tcpSocket, grpc, exec")
    kind, body = kinds[0], probe[kinds[0]]
    if not isinstance(body, dict):
        raise GenerateError(f"{where}.{kind}: expected an object")
    kw = f"{where}.{kind}"
    if kind == "exec":
        command = body.get("command")
        if not isinstance(command, list) or not command or not all(isinstance(c, str) for c in command):
            raise GenerateError(f"{kw}.command: expected a list of strings, got {quote(command)}")
        return ProbeSpec(kind="exec", command=tuple(command), **common)
    for key in ("host", "path", "service"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise GenerateError(f"{kw}.{key}: expected a string, got {quote(body[key])}")
    port = _port(body.get("port"), ports, f"{kw}.port")
    if not 0 < port < 65536:
        raise GenerateError(f"{kw}.port: {port} is not 1-65535")
    if kind == "tcpSocket":
        return ProbeSpec(kind="tcpSocket", port=port, host=str(body.get("host") or ""), **common)
    if kind == "grpc":
        return ProbeSpec(kind="grpc", port=port, service=str(body.get("service") or ""), **common)
    scheme = body.get("scheme", "HTTP")
    if scheme not in ("HTTP", "HTTPS"):
        raise GenerateError(f"{kw}.scheme: {quote(scheme)} is not HTTP or HTTPS")
    raw_headers = body.get("httpHeaders") or []
    if not isinstance(raw_headers, list) or not all(
            isinstance(h, dict) and isinstance(h.get("name"), str) and isinstance(h.get("value"), str)
            for h in raw_headers):
        raise GenerateError(f"{kw}.httpHeaders: expected a list of {{name, value}} strings")
    headers = tuple((h["name"], h["value"]) for h in raw_headers)
    return ProbeSpec(kind="httpGet", port=port, host=str(body.get("host") or ""),
                     path=str(body.get("path") or "/"), scheme=scheme, headers=headers, **common)
