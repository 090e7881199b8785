"""Every exit code doll's processes use, defined once.

The step wrapper's own codes sit above 119 so they cannot be mistaken for a child's usual ones (a child's code
passes through; 128+N when killed by signal N).  doll's commands (generate, run, supervise, ctl, init) use
the small codes.  Standard library only: the wrapper imports this module.
"""

from __future__ import annotations

__all__ = [
    "EXIT_USAGE", "EXIT_CANCELLED", "EXIT_SKIPPED", "EXIT_RESULTS_TOO_LARGE", "EXIT_TIMEOUT",
    "EXIT_WRAPPER_ERROR", "EXIT_NOT_EXECUTABLE", "EXIT_NOT_FOUND", "EXIT_DEBUG_FAILED",
    "EXIT_SUCCEEDED", "EXIT_FAILED", "EXIT_BAD_INPUT", "EXIT_ENVIRONMENT", "EXIT_INTERRUPTED",
]

# --- the step wrapper ---
EXIT_USAGE = 120  # bad options or nothing after `--`
EXIT_CANCELLED = 121  # the run was cancelled before or while this step ran
EXIT_SKIPPED = 122  # skipped because an earlier step failed
EXIT_RESULTS_TOO_LARGE = 123  # results do not fit the 4096-byte termination message
EXIT_TIMEOUT = 124  # the step's timeout expired (GNU timeout's convention)
EXIT_WRAPPER_ERROR = 125  # the wrapper itself failed (unusable socket path, I/O error)
EXIT_NOT_EXECUTABLE = 126  # the command exists but cannot be executed (shell convention)
EXIT_NOT_FOUND = 127  # the command does not exist (shell convention)
EXIT_DEBUG_FAILED = 1  # `debug fail-continue` marked the step failed (Tekton's convention)

# --- doll's commands ---
EXIT_SUCCEEDED = 0  # the task succeeded (doll run, doll supervise), or the command did its job
EXIT_FAILED = 1  # the task failed
EXIT_BAD_INPUT = 2  # a command line or an input file doll cannot take
EXIT_ENVIRONMENT = 3  # doll itself could not do the job: podman, a socket, a journal, a disk
EXIT_INTERRUPTED = 130  # Ctrl-C (doll run)
