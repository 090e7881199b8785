"""`doll run`: a generated Pod adapted to podman, played, watched, judged and removed on this machine.

May import: generator.tekton (to generate), generator.images, generator's shared modules, entrypoint, supervisor.
"""
