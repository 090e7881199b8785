# The doll image: the `doll` console script (supervise, ctl, generate, init) and the self-contained step
# wrapper that the Pod's init container copies from /opt/doll/bin/ to /doll/bin.
#
# Build: scripts/build-image (makes the base locally with debootstrap when it cannot be pulled), or on a
# normal machine simply `podman build -t doll .` / `docker build -t doll .`.
# The base provides `python3` on PATH; nothing below depends on where it lives.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# Only set behind a TLS-intercepting proxy: a CA bundle that scripts/build-image mounts for RUN steps.
ARG PIP_CERT
# Debian's python3 + venv + libpython + binutils + patchelf: what scripts/build-entrypoint needs to package the wrapper.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv libpython3.11 binutils patchelf ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY contracts/ contracts/
COPY entrypoint/ entrypoint/
COPY supervisor/ supervisor/
COPY generator/ generator/
COPY scripts/build-entrypoint scripts/build-entrypoint
# doll itself, in a venv built with the base's python3 (the final stage has the same one).
RUN python3 -m venv /opt/doll/venv \
 && /opt/doll/venv/bin/pip install -q . \
 && find /opt/doll/venv -name __pycache__ -prune -exec rm -rf {} +
# The packaged wrapper (runs in images with no shell, no Python, no libc) -> /out.
RUN bash scripts/build-entrypoint /out
# Last, so the layers above stay cached: which build made this stage, for scripts/build-image to remove it.
ARG DOLL_BUILD=""
LABEL doll.build=${DOLL_BUILD}

FROM ${BASE}
COPY --from=builder /opt/doll/venv /opt/doll/venv
COPY --from=builder /out/ /opt/doll/bin/
ENV PATH=/opt/doll/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT ["doll"]
CMD ["--help"]
