"""The optional Pushgateway push at the end of the run (batch use): PUT the registry under job=doll, pod=<pod>."""

from __future__ import annotations

import asyncio
from typing import Any

from supervisor.logs import Log

__all__ = ["push", "PUSH_TIMEOUT"]

PUSH_TIMEOUT = 5.0


async def push(url: str, registry: Any, pod: str, log: Log) -> bool:
    """Push once; a failure is logged and never fails the run."""
    from prometheus_client import push_to_gateway

    try:
        await asyncio.to_thread(push_to_gateway, url, job="doll", registry=registry,
                                grouping_key={"pod": pod or "unknown"}, timeout=PUSH_TIMEOUT)
    except Exception as exc:  # urllib raises a zoo of errors; every one is "not pushed"
        log.warning("push_failed", url=url, error=f"{type(exc).__name__}: {exc}")
        return False
    log.info("pushed", url=url)
    return True
