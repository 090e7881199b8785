"""The sidecar inside each Pod that drives the steps: readiness, ordering, holds, timings and metrics.

Reads the generator's plan (`supervisor.plans`) and talks to the wrappers over `entrypoint.protocol`.
"""
