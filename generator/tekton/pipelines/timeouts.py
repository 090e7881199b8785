"""A PipelineRun's timeouts: `timeouts.pipeline|tasks|finally` (v1 and v1beta1) or v1beta1's `timeout`, checked as
Tekton's validateTimeoutFields / validatePipelineTimeout do (pkg/apis/pipeline/v1/pipelinerun_validation.go)."""

from __future__ import annotations

from dataclasses import dataclass

from generator.errors import GenerateError
from generator.tekton.durations import seconds
from generator.tekton.specs import RawObject

__all__ = ["DEFAULT_SECONDS", "Timeouts", "timeouts"]

DEFAULT_SECONDS = 3600.0  # Tekton's default-timeout-minutes (60), what tasks + finally are checked against


@dataclass(frozen=True)
class Timeouts:
    pipeline: float | None = None  # None: no timeout ("0") or none given (see given)
    given: bool = False
    tasks: float | None = None
    finally_: float | None = None


def _bound(value: float | None, total: float | None, text: str, field: str, limit: str, where: str) -> None:
    """One of tasks / finally against the pipeline's: not over it, and not "no timeout" under a timeout."""
    if total is None:
        return
    if value is None:
        raise GenerateError(f"{where}.timeouts.{field}: {text} (no timeout) should be <= {limit}")
    if value > total:
        raise GenerateError(f"{where}.timeouts.{field}: {text} should be <= {limit}")


def timeouts(spec: RawObject, where: str, v1: bool) -> Timeouts:
    """`where`: "run.yaml: spec"."""
    if "timeout" in spec:
        if v1:
            raise GenerateError(f"{where}.timeout: not a tekton.dev/v1 field (v1 spells it timeouts.pipeline)")
        if "timeouts" in spec:
            raise GenerateError(f"{where}: both timeout and timeouts (give one)")
        return Timeouts(pipeline=seconds(spec["timeout"], f"{where}.timeout"), given=True)
    raw = spec.get("timeouts")
    if raw is None:
        return Timeouts()
    if not isinstance(raw, dict):
        raise GenerateError(f"{where}.timeouts: expected an object")
    for key in raw:
        if key not in ("pipeline", "tasks", "finally"):
            raise GenerateError(f"{where}.timeouts.{key}: not supported (pipeline, tasks or finally)")
    parsed = {k: seconds(v, f"{where}.timeouts.{k}") for k, v in raw.items()}
    given = "pipeline" in raw
    total = parsed["pipeline"] if given else DEFAULT_SECONDS
    limit = "the pipeline's timeout" if given else "the default timeout (60m)"
    for field in ("tasks", "finally"):
        if field in raw:
            _bound(parsed[field], total, str(raw[field]), field, limit, where)
    tasks, final = parsed.get("tasks"), parsed.get("finally")
    if "tasks" in raw and "finally" in raw and total is not None and tasks is not None and final is not None \
            and tasks + final > total:
        raise GenerateError(f"{where}.timeouts: tasks + finally ({raw['tasks']} + {raw['finally']}) should be <= "
                            f"{limit}")
    return Timeouts(pipeline=parsed.get("pipeline"), given=given, tasks=tasks, finally_=final)
