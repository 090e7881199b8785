"""Reading a PipelineRun: a stub until the reading branch (`pread`) replaces this file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from generator.tekton.pipelines.parts import PipelineParts

__all__ = ["read_pipeline"]


def read_pipeline(sources: Sequence[tuple[str, str]], cli_params: Mapping[str, str],
                  run_name: str = "") -> PipelineParts | None:
    return None
