"""Tekton YAML in, Kubernetes objects out: a PipelineRun's Pod (pipelines/), else a Task's or TaskRun's (generating)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.tekton.generate_options import GenerateOptions, check_options
from generator.tekton.generating import generate_run
from generator.tekton.loading import by_kind, load_documents
from generator.tekton.pipelines.assembling import generate_pipeline
from generator.tekton.pipelines.reading import read_documents

__all__ = ["translate"]


def translate(sources: Sequence[tuple[str, str]], params: Mapping[str, str],
              options: GenerateOptions) -> list[dict[str, Any]]:
    """The objects to apply for the run the files give (`params`: the command line's -p): with --rbac its
    ServiceAccount, Role and RoleBinding, then its one Pod."""
    check_options(options)  # the command line first, blamed on its options
    docs = by_kind(sources)  # parsed once, for either path
    parts = read_documents(docs, params, options.name)
    if parts is None:
        return generate_run(load_documents(docs, params, options.name), options)
    return generate_pipeline(parts, options)
