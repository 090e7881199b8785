"""Warnings: harmless things doll does differently from Tekton, reported on stderr and never dropped."""

from __future__ import annotations

import logging

LOGGER = logging.getLogger("doll.generate")


def warn(message: str) -> None:
    LOGGER.warning("%s", message)
