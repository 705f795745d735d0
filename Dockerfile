# The jis server image. Two stages: `build` installs the package and its runtime
# dependencies into a virtualenv (/opt/jis); the final stage is the base image, that virtualenv
# without pip, setuptools or any package's tests, the HEALTHCHECK script, and the numba cache
# compiled at build time by the user the server runs as (uid 10001), so a start loads the
# kernels instead of compiling them (the cache holds code for the build machine's CPU: on
# another CPU model the first start of each container compiles, as without the cache).
#
# The base image is a build argument so that a locally built base works where no container
# registry is reachable (ops/docker/check-image.sh BASE builds, runs and checks this image):
#   docker build --build-arg BASE=local/python:3.11-bookworm -t jis .
# No `# syntax=` line: BuildKit, where it is used, needs no frontend image from a registry.
#
# The server listens on 0.0.0.0 in the container, so it starts only with TLS and credentials
# mounted (JIS_CREDENTIALS, JIS_TLS_CERT, JIS_TLS_KEY; the HEALTHCHECK then speaks TLS, see
# ops/docker/healthcheck.py) or, for a local trial or behind a TLS proxy, with -e JIS_INSECURE=1.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python -m venv /opt/jis
# The dependencies first, from pyproject.toml with an empty package and readme: a change to
# jis/ or README.md reuses this layer.
COPY pyproject.toml ./
RUN mkdir jis && touch jis/__init__.py README.md \
    && /opt/jis/bin/pip install '.[nats]' \
    && rm -rf jis build README.md
COPY README.md ./
COPY jis ./jis
# Then the package itself; then out go pip, setuptools, the packages' test suites and the
# activation scripts, which the server does not run.
RUN /opt/jis/bin/pip install --no-deps --force-reinstall '.[nats]' \
    && /opt/jis/bin/python -m pip uninstall --yes pip setuptools \
    && find /opt/jis -depth -type d -name tests -exec rm -rf {} + \
    && rm -f /opt/jis/bin/activate* /opt/jis/bin/Activate.ps1 /opt/jis/bin/f2py /opt/jis/bin/numpy-config

FROM ${BASE}
RUN useradd --no-log-init --no-create-home --user-group --uid 10001 --shell /usr/sbin/nologin jis \
    && mkdir -p /data /cache \
    && chown jis:jis /data /cache
COPY --from=build /opt/jis /opt/jis
COPY ops/docker/healthcheck.py /opt/jis/healthcheck.py
ENV PATH=/opt/jis/bin:$PATH \
    NUMBA_CACHE_DIR=/cache \
    JIS_HOST=0.0.0.0 \
    JIS_DATA_DIR=/data
USER 10001
# Compile every kernel into the numba cache, as the server's user, where the server looks.
RUN python -c "from jis.kernels.warmup import compile_all; compile_all()" \
    && test -n "$(find /cache -name '*.nbc' -print -quit)"
VOLUME ["/data"]
EXPOSE 50051
HEALTHCHECK --interval=5s --timeout=4s --start-period=60s --retries=3 \
    CMD ["python", "/opt/jis/healthcheck.py"]
ENTRYPOINT ["jis", "serve"]
