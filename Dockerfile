# syntax=docker/dockerfile:1
# The base image is a build argument so that a locally built base works where no
# registry is reachable:  docker build --build-arg BASE=my-python:3.11-slim .
# The server listens on 0.0.0.0 in the container, so it starts only with TLS and
# credentials mounted (JIS_CREDENTIALS, JIS_TLS_CERT, JIS_TLS_KEY) or, for a local trial
# or behind a TLS proxy, with -e JIS_INSECURE=1. The HEALTHCHECK speaks plaintext gRPC:
# with TLS on, override it (docker run --health-cmd) or rely on the proxy's checks.
# ops/docker/check-image.sh BASE builds this on a local base, runs it and waits for healthy.
ARG BASE=python:3.11-slim
FROM ${BASE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY jis ./jis
RUN python -m venv /opt/jis && /opt/jis/bin/pip install --no-cache-dir .

FROM ${BASE}
RUN useradd --create-home --uid 10001 jis && mkdir -p /data /cache && chown jis:jis /data /cache
COPY --from=build /opt/jis /opt/jis
ENV PATH=/opt/jis/bin:$PATH \
    NUMBA_CACHE_DIR=/cache \
    JIS_HOST=0.0.0.0 \
    JIS_DATA_DIR=/data
USER 10001
VOLUME ["/data"]
EXPOSE 50051
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD ["python", "-c", "import grpc,sys; from grpc_health.v1 import health_pb2 as h, health_pb2_grpc as g; s=g.HealthStub(grpc.insecure_channel('127.0.0.1:50051')).Check(h.HealthCheckRequest(), timeout=2).status; sys.exit(0 if s == h.HealthCheckResponse.SERVING else 1)"]
ENTRYPOINT ["jis", "serve"]
