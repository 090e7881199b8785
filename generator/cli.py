"""The `doll` command: dispatches to its subcommands, importing each one only when it is used.

`doll supervise` must start fast (the Kubernetes client alone takes ~370 ms to import), so nothing
heavy is imported here.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["SUBCOMMANDS", "USAGE", "main"]

# subcommand -> (module, function taking argv and returning an exit code, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "generate": ("generator.tekton.main", "main", "turn a Tekton PipelineRun/TaskRun into one self-driving Pod spec"),
    "run": ("generator.local.main", "main", "run a Tekton PipelineRun/TaskRun locally as one Pod under podman"),
    "supervise": ("supervisor.main", "main", "the in-Pod supervisor (runs inside the Pod)"),
    "ctl": ("supervisor.ctl", "main", "talk to a running supervisor: status, continue, fail, cancel"),
    "init": ("generator.init.main", "main", "the Pod's init container: place the wrapper, plan and scripts"),
}

USAGE = "usage: doll {" + ",".join(SUBCOMMANDS) + "} [options]  (doll COMMAND --help for more)"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        for name, (_, _, text) in SUBCOMMANDS.items():
            print(f"  {name:<10} {text}")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"doll: unknown command {name!r}; {USAGE}", file=sys.stderr)
        return 2
    module_name, function, _ = SUBCOMMANDS[name]
    function_ = getattr(importlib.import_module(module_name), function)
    code: int = function_(rest)
    return code


if __name__ == "__main__":
    sys.exit(main())
