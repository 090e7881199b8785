"""An image's entrypoint and cmd: the ImageConfigSource face (sources), an image map, the OCI registry + cache.

May import: generator's shared modules (errors, warning) and its own modules; never tekton, local or init.
"""
