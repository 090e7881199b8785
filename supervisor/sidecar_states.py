"""A sidecar's state, changed by its journal records (sidecar_announced, _ready, _unready, _failed, _stopped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from contracts.journal import SidecarRecord

__all__ = ["SIDECAR_PHASES", "SidecarPhase", "SidecarState"]

SidecarPhase = Literal["pending", "announced", "ready", "unready", "failed", "stopped"]
SIDECAR_PHASES: tuple[str, ...] = ("pending", "announced", "ready", "unready", "failed", "stopped")


@dataclass
class SidecarState:
    name: str
    phase: SidecarPhase = "pending"
    announced_at: float | None = None
    ready_at: float | None = None
    stopped_at: float | None = None
    reason: str = ""

    def apply(self, rec: SidecarRecord, at: float) -> None:
        ev = rec["ev"]
        if ev == "sidecar_announced":
            self.announced_at = self.announced_at or at
            if self.phase == "pending":
                self.phase = "announced"
        elif ev == "sidecar_ready":
            self.phase, self.ready_at = "ready", self.ready_at or at
        elif ev == "sidecar_unready":
            self.phase = "unready"
        elif ev == "sidecar_failed":
            self.phase, self.reason = "failed", rec.get("reason", "")
        elif ev == "sidecar_stopped":
            self.phase, self.stopped_at, self.reason = "stopped", at, rec.get("reason", self.reason)
