"""`doll run`: a Tekton PipelineRun or TaskRun run locally as one self-driving Pod under podman.

    doll run RUN.yaml [-f pipeline-or-task.yaml ...] [-p name=value ...] [--keep] [--debug-on-failure] [--image IMG]

Generate (classic layout), adapt the Pod to podman (generator/local/localizing.py), `podman kube play` it,
show progress and step logs, print a table of the steps, remove the pod (unless --keep): in that order in
orchestrating.py.  Exit status: 0 the task succeeded, 1 it did not, 2 bad input, 3 podman missing or unusable
or the pod would not start, 130 interrupted.  Every error is one line, mapped to its status here.
"""

from __future__ import annotations

import sys

from contracts.errors import DollError, InputError
from contracts.exits import EXIT_BAD_INPUT, EXIT_ENVIRONMENT, EXIT_INTERRUPTED
from contracts.errors import DollError, exit_code_for
from generator.local.command_line import parsing
from generator.local.interrupting import Interrupted, interruptible
from generator.local.orchestrating import running
from generator.local.podman import PodmanError
from generator.warning import printed

__all__ = ["EXIT_CODES", "main"]

# bad input (GenerateError, LocalizeError; a bad command line too) -> 2, podman -> 3, Ctrl-C/SIGTERM -> 130
EXIT_CODES: dict[type[DollError], int] = {InputError: EXIT_BAD_INPUT, PodmanError: EXIT_ENVIRONMENT,
                                          Interrupted: EXIT_INTERRUPTED}


def main(argv: list[str]) -> int:
    with interruptible():
        try:
            with printed("doll run"):  # the generator's and localizing's warnings, as `doll generate` prints them
                return running(parsing(argv), sys.stdout)
        except DollError as exc:
            print(f"doll run: {exc}", file=sys.stderr)
            return exit_code_for(exc, EXIT_CODES)
