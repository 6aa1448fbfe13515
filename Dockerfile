# One image for the operator, the detector Jobs and the retention Job: `driftwarden`.
#   docker build -t driftwarden:dev .            (see README: load into kind, or push)
# tests/unit/test_image.py runs this file's pip steps (build stage, final stage, numba cache)
# in clean virtual environments, so what the image installs is what the tests run.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY detectors detectors
COPY operator operator
# The package and every dependency as wheels, at the versions constraints.txt pins.
RUN pip wheel --no-cache-dir -c constraints.txt --wheel-dir /wheels . \
    && cp constraints.txt /wheels/constraints.txt

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="driftwarden" \
      org.opencontainers.image.description="Kubernetes operator and detector Jobs for ML model monitoring: drift, model quality, retraining" \
      org.opencontainers.image.source="https://github.com/driftwarden/driftwarden" \
      org.opencontainers.image.url="https://github.com/driftwarden/driftwarden" \
      org.opencontainers.image.documentation="https://github.com/driftwarden/driftwarden#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="driftwarden" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin driftwarden
# No compilers here: only the wheels built above, offline, pinned by the same constraints.
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels -c /wheels/constraints.txt driftwarden \
    && rm -rf /wheels
# numba caches compiled kernels beside the package by default, which is read-only in a Job's
# pod (readOnlyRootFilesystem; /tmp is an emptyDir). The kernels are compiled here, for any
# x86-64 CPU, and the first `driftwarden` command of a pod copies them into /tmp/numba-cache
# (driftwarden.detectors.numba_cache), so a Job loads them instead of compiling.
ENV NUMBA_CACHE_DIR=/tmp/numba-cache \
    NUMBA_CPU_NAME=generic \
    DRIFTWARDEN_NUMBA_CACHE_SEED=/opt/driftwarden/numba-cache \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
RUN NUMBA_CACHE_DIR=$DRIFTWARDEN_NUMBA_CACHE_SEED python -m driftwarden.detectors.numba_cache \
    && chmod -R a+rX /opt/driftwarden
USER 10001:10001
ENTRYPOINT ["driftwarden"]
CMD ["--help"]
