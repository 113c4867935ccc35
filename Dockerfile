# The Ouderportaal image: granian serving idp.wsgi:app (the app's wheel) through the launcher
# idp.granian_server, as a non-root user, on a read-only root file system (only /tmp is written;
# the Helm chart mounts an emptyDir there). gunicorn is installed too, the documented fallback:
#
#   docker build -t ouderportaal:dev .          # or: buildah bud --format docker -t ...
#   docker run ... ouderportaal:dev                                            # granian
#   docker run ... ouderportaal:dev gunicorn -c /app/gunicorn.conf.py idp.wsgi:app   # gunicorn
#
# PYTHON_IMAGE must be a Debian-based image with python3 (3.11) and its venv module. CI here
# builds one from Debian's packages, because no container registry is reachable (.ci/image).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the virtualenv, from the hashed lock files only; then the app's own wheel ------------
FROM ${PYTHON_IMAGE} AS build
# Only for a build behind a TLS-intercepting proxy: the path of a CA bundle mounted for the
# build (buildah bud -v host.crt:/run/build-ca.crt:ro --build-arg PIP_CERT=/run/build-ca.crt).
# An ARG is not kept in the final image's environment.
ARG PIP_CERT
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_NO_INPUT=1
COPY requirements.lock requirements-build.lock /tmp/
# --require-hashes: every file must match the lock. --only-binary: wheels only, so nothing is
# compiled and no compiler is needed in either stage. setuptools (requirements-build.lock)
# only builds the app's wheel below; it leaves the venv with pip: the final image installs nothing.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install ${PIP_CERT:+--cert "$PIP_CERT"} --require-hashes --no-deps \
        --only-binary :all: -r /tmp/requirements.lock -r /tmp/requirements-build.lock
COPY docker/entrypoint.sh /opt/venv/bin/idp-entrypoint
RUN chmod 0755 /opt/venv/bin/idp-entrypoint
# The app is installed as the wheel `pip install .` makes (templates, translations, static
# files and migrations inside the package; tests/test_wheel.py runs the same wheel), with its
# `idp` command. Nothing is fetched: --no-index, and the dependencies are in already.
COPY pyproject.toml /src/pyproject.toml
COPY templates /src/templates
COPY idp /src/idp
RUN /opt/venv/bin/pip wheel --no-deps --no-build-isolation --no-index -q -w /tmp/dist /src \
 && /opt/venv/bin/pip install --no-deps --no-index -q /tmp/dist/ppo_idp-*.whl \
 && /opt/venv/bin/pip uninstall -q -y setuptools pip \
 && rm -rf /tmp/dist /src \
 && /opt/venv/bin/python3 -m compileall -q --invalidation-mode unchecked-hash /opt/venv/lib

# --- final: the runtime only -------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Ouderportaal" \
      org.opencontainers.image.description="OpenID Connect provider for parents of PPO school-support organisations" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"

# A fixed numeric id, so Kubernetes can verify runAsNonRoot without a passwd lookup.
RUN groupadd --gid 10001 idp \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin idp

# The venv holds the app (its wheel, with the launcher idp.granian_server) and, like /app, is
# owned by root: the app user can read it but never change it, read-only root file system or
# not. Its bytecode was made in the build: at run time nothing may be written next to the
# sources. gunicorn.conf.py is for the fallback command (above); both servers read the same
# GUNICORN_* and IDP_METRICS_PORT settings (idp/serving.py).
COPY --from=build /opt/venv /opt/venv
COPY gunicorn.conf.py /app/

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    IDP_INSTANCE_DIR=/tmp/instance \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
WORKDIR /app
USER 10001:10001
EXPOSE 8000 9100
# Kubernetes ignores this (the chart has its own probes); docker and podman use it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GUNICORN_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["idp-entrypoint"]
# The app loaded once, workers forked from it, /metrics on IDP_METRICS_PORT, graceful SIGTERM.
CMD ["python3", "-m", "idp.granian_server"]
