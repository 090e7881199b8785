"""The Secrets given to `doll run` that feed `$(credentials.path)`: what Tekton's creds-init would take
(pkg/pod/creds_init.go: the ServiceAccount's Secrets; dockercreds and gitcreds MatchingAnnotations)."""

from __future__ import annotations

import pytest

from generator.errors import GenerateError
from generator.local.objects import credentials, taking_objects
from generator.tekton.crediting import CredentialSecret

TASKRUN = "apiVersion: tekton.dev/v1\nkind: TaskRun\nmetadata: {name: r}\nspec: {taskRef: {name: t}%s}\n"
SECRETS = """
apiVersion: v1
kind: Secret
metadata: {name: basic, annotations: {tekton.dev/git-1: https://gitlab.com, tekton.dev/git-0: https://github.com,
                                      tekton.dev/docker-0: https://index.docker.io/v1/, other: x}}
type: kubernetes.io/basic-auth
stringData: {username: u, password: p}
---
apiVersion: v1
kind: Secret
metadata: {name: key, annotations: {tekton.dev/git-0: github.com, tekton.dev/docker-0: ignored}}
type: kubernetes.io/ssh-auth
stringData: {ssh-privatekey: k}
---
apiVersion: v1
kind: Secret
metadata: {name: regcred}
type: kubernetes.io/dockerconfigjson
stringData: {.dockerconfigjson: '{"auths": {}}'}
---
apiVersion: v1
kind: Secret
metadata: {name: plain, annotations: {tekton.dev/git-0: https://github.com}}
stringData: {token: t}
---
"""


def _credentials(text: str) -> tuple[CredentialSecret, ...]:
    return credentials(taking_objects((("in.yaml", text),))[1])


def test_every_secret_given_is_matched_as_tektons_builders_match_it() -> None:
    """basic-auth: a docker entry per tekton.dev/docker-*, a git entry per tekton.dev/git-* (values sorted);
    ssh-auth: git entries only; dockerconfigjson: unannotated; an Opaque Secret: nothing."""
    assert _credentials(SECRETS + TASKRUN % "") == (
        CredentialSecret("basic", "docker", "https://index.docker.io/v1/"),
        CredentialSecret("basic", "git", "https://github.com"), CredentialSecret("basic", "git", "https://gitlab.com"),
        CredentialSecret("key", "git", "github.com"), CredentialSecret("regcred"))


SERVICE_ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: builder}\nsecrets: [{name: regcred}]\n---\n"


def test_a_given_service_account_names_the_secrets_used() -> None:
    """creds_init.go: only the Secrets the TaskRun's ServiceAccount lists."""
    assert _credentials(SECRETS + SERVICE_ACCOUNT + TASKRUN % ", serviceAccountName: builder") == (
        CredentialSecret("regcred"),)


@pytest.mark.parametrize(("text", "message"), [
    (SECRETS + SERVICE_ACCOUNT + TASKRUN % "", "the run's ServiceAccount 'default' is not among"),
    (SERVICE_ACCOUNT + TASKRUN % ", serviceAccountName: builder", "lists Secret 'regcred', which is not given")])
def test_a_service_account_that_does_not_fit_the_input_is_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(GenerateError, match=message):
        _credentials(text)


def test_a_v1_pipeline_runs_service_account_is_its_task_run_templates() -> None:
    """docs/pipelineruns.md "Specifying taskRunTemplate": a v1 PipelineRun names its ServiceAccount there."""
    run = ("apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata: {name: p}\n"
           "spec: {taskRunTemplate: {serviceAccountName: builder}, pipelineRef: {name: x}}\n")
    assert _credentials(SECRETS + SERVICE_ACCOUNT + run) == _credentials(
        SECRETS + SERVICE_ACCOUNT + TASKRUN % ", serviceAccountName: builder")
