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
# numba caches compiled kernels beside the package by default, which is read-only here.
ENV NUMBA_CACHE_DIR=/tmp/numba-cache
USER 10001:10001
ENTRYPOINT ["driftwarden"]
CMD ["--help"]
