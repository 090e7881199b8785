"""Tekton translated: a PipelineRun, TaskRun or Task in, ONE self-driving Pod (and its RBAC) out; `doll generate`
is tekton.main.

May import: generator's shared modules, generator.images.sources/choosing only (the ImageConfigSource face),
generator.init.env_values, entrypoint, supervisor.
"""
