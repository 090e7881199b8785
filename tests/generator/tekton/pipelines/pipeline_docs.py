"""Reading PipelineRun text in the pipeline tests: a PipelineRun built around a pipelineSpec, and refusals."""

from __future__ import annotations

import textwrap

import pytest

from generator.errors import GenerateError
from generator.tekton.pipelines.parts import PipelineParts, PipelineTask
from generator.tekton.pipelines.reading import read_pipeline

ECHO = "{steps: [{name: s, image: busybox, script: echo}]}"


def run(pipeline_spec: str, run_spec: str = "", extra: str = "") -> str:
    """A PipelineRun named `demo` embedding `pipeline_spec` (YAML, indented as written), then `extra` documents."""
    body = textwrap.indent(textwrap.dedent(pipeline_spec).strip(), "    ")
    head = textwrap.indent(textwrap.dedent(run_spec).strip(), "  ")
    text = f"apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {{name: demo}}\nspec:\n{head}\n" \
           f"  pipelineSpec:\n{body}\n"
    return text + (f"---\n{textwrap.dedent(extra).strip()}\n" if extra else "")


def read(text: str, params: dict[str, str] | None = None, name: str = "") -> PipelineParts:
    parts = read_pipeline([("run.yaml", text)], params or {}, name)
    assert parts is not None
    return parts


def refused(text: str, params: dict[str, str] | None = None) -> str:
    with pytest.raises(GenerateError) as info:
        read_pipeline([("run.yaml", text)], params or {})
    message = str(info.value)
    assert "\n" not in message and message.startswith("run.yaml")
    return message


def task(parts: PipelineParts, name: str) -> PipelineTask:
    return next(t for t in parts.tasks if t.plan.name == name)


def params(t: PipelineTask) -> dict[str, object]:
    return {p.name: p.value for p in t.run.params}
