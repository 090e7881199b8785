"""Turns Tekton Task/TaskRun YAML (v1, v1beta1) into a self-driving Pod spec, and hosts the `doll` CLI.

Places the entrypoint wrapper in every step and the supervisor beside them.  One subpackage a job:
tekton (translation, `doll generate`), images (image config lookup and its cache), local (`doll run` under
podman), init (`doll init`); shared here: cli (the `doll` dispatcher), errors, warning.
"""
