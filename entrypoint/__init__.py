"""The step wrapper every step and sidecar container runs: waits for its turn, runs the real command.

Standard library only; packaged as a self-contained executable that runs in images with no shell or libc.
"""
