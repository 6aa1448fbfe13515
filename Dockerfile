# One image for the operator and the detector Jobs. Non-root.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY detectors detectors
COPY operator operator
RUN pip wheel --no-cache-dir -c constraints.txt --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin driftwarden
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels driftwarden && rm -rf /wheels
# numba caches compiled kernels beside the package by default, which is read-only in a Job's
# pod (readOnlyRootFilesystem; /tmp is an emptyDir). The kernels are compiled here, for any
# x86-64 CPU, and the first `driftwarden` command of a pod copies them into /tmp/numba-cache
# (driftwarden.detectors.numba_cache), so a Job loads them instead of compiling.
ENV NUMBA_CACHE_DIR=/tmp/numba-cache \
    NUMBA_CPU_NAME=generic \
    DRIFTWARDEN_NUMBA_CACHE_SEED=/opt/driftwarden/numba-cache
RUN NUMBA_CACHE_DIR=$DRIFTWARDEN_NUMBA_CACHE_SEED python -m driftwarden.detectors.numba_cache \
    && chmod -R a+rX /opt/driftwarden
USER 10001:10001
ENTRYPOINT ["driftwarden"]
CMD ["--help"]
