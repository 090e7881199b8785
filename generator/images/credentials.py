"""Registry credentials from a docker config.json or a kubernetes.io/dockerconfigjson Secret file."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from generator.errors import GenerateError
from generator.images.references import DOCKER_HUB
from generator.warning import warn

__all__ = ["Credentials", "from_config", "from_docker_config", "from_pull_secret"]

Credentials = dict[str, tuple[str, str]]  # registry host -> (username, password)


def _host(key: str) -> str:
    host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    return DOCKER_HUB if host in ("index.docker.io", "docker.io") else host


def from_config(config: Mapping[str, Any], where: str) -> Credentials:
    for key in ("credHelpers", "credsStore"):
        if config.get(key):
            warn(f"{where}: {key}: credential helpers are not run by doll; only `auths` entries are used")
    auths = config.get("auths", {})
    if not isinstance(auths, dict):
        raise GenerateError(f"{where}: auths: expected an object")
    out: Credentials = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise GenerateError(f"{where}: auths.{key}: expected an object")
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise GenerateError(f"{where}: auths.{key}.auth: not base64 of user:password") from None
            if not sep:
                raise GenerateError(f"{where}: auths.{key}.auth: not base64 of user:password")
        elif entry.get("username"):
            user, password = str(entry["username"]), str(entry.get("password", ""))
        else:
            continue
        out[_host(key)] = (user, password)
    return out


def _load(path: str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise GenerateError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError:
        raise GenerateError(f"{path}: malformed JSON or YAML") from None


def from_docker_config(path: str = "") -> Credentials:
    """The default is $DOCKER_CONFIG/config.json, else ~/.docker/config.json; a missing default is empty."""
    explicit = bool(path)
    if not path:
        base = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
        path = str(Path(base) / "config.json")
        if not Path(path).exists():
            return {}
    data = _load(path)
    if not isinstance(data, dict):
        raise GenerateError(f"{path}: expected a docker config object" if explicit else f"{path}: malformed")
    return from_config(data, path)


def from_pull_secret(path: str) -> Credentials:
    secret = _load(path)
    if not isinstance(secret, dict) or secret.get("kind") != "Secret":
        raise GenerateError(f"{path}: expected a Secret of type kubernetes.io/dockerconfigjson")
    data, string_data = secret.get("data") or {}, secret.get("stringData") or {}
    for key, decode in ((".dockerconfigjson", True), (".dockercfg", True)):
        raw = string_data.get(key) if key in string_data else data.get(key)
        if raw is None:
            continue
        try:
            text = base64.b64decode(raw).decode() if key in data and decode else str(raw)
            config = json.loads(text)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise GenerateError(f"{path}: data.{key}: not base64 of JSON") from None
        if key == ".dockercfg":
            config = {"auths": config}
        return from_config(config, f"{path}: data.{key}")
    raise GenerateError(f"{path}: data..dockerconfigjson: missing")
