"""Turns Tekton Task/TaskRun YAML (v1, v1beta1) into a self-driving Pod spec, and hosts the `doll` CLI.

Places the entrypoint wrapper in every step and the supervisor beside them.
"""
