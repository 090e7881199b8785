"""The sidecar inside each Pod that drives the steps: readiness, ordering, holds, timings and metrics.

Reads the generator's plan (`contracts.plans`) and talks to the wrappers over `contracts.wire`.
"""
