# One image per service, all from this file:
#
#   docker build --build-arg SERVICE=blog -t flask-services-blog .      (auth, blog or api)
#
# compose.yaml builds the three. The stages: `build` installs the pinned dependencies
# (services/<name>/requirements.txt, with hashes: `nox -s lock` writes it) and the two local
# packages into a virtualenv; the final stage copies only that virtualenv onto a fresh slim
# Python, with no compiler, no pip cache and no source tree, and runs as an unprivileged user.

ARG PYTHON_TAG=3.12-slim

FROM python:${PYTHON_TAG} AS build
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=auth|blog|api" >&2; exit 1; }
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# Dependencies first: this layer is rebuilt only when the pinned requirements change.
COPY services/${SERVICE}/requirements.txt /tmp/requirements.txt
RUN pip install --require-hashes -r /tmp/requirements.txt
# Then the project's own packages, without their dependencies (all installed above, pinned).
COPY shared /src/shared
COPY services/${SERVICE} /src/service
RUN pip install --no-deps /src/shared /src/service \
 && python -m compileall -q -j 0 /opt/venv/lib

FROM python:${PYTHON_TAG}
ARG SERVICE
LABEL org.opencontainers.image.title="flask-services-${SERVICE}" \
      org.opencontainers.image.description="The ${SERVICE} service of the Flask services example"
# APP_MODULE names the app for deploy/gunicorn.conf.py and FLASK_APP for `flask ...` commands.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=production \
    APP_MODULE=${SERVICE}_service \
    FLASK_APP=${SERVICE}_service \
    INSTANCE_PATH=/var/lib/app/instance \
    GUNICORN_HOST=0.0.0.0 \
    PORT=8000
# uid/gid 10001: not root, and not a uid the host is likely to use. The folders that named
# volumes are mounted on belong to it, so a new volume starts out owned by it too.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --home-dir /var/lib/app --shell /usr/sbin/nologin app \
 && install -d -o app -g app -m 0750 /var/lib/app /var/lib/app/instance \
      /var/lib/app/secrets /secrets /secrets/auth /secrets/blog /secrets/api \
 && install -d -o app -g app -m 0755 /secrets/db /secrets/redis
COPY --from=build /opt/venv /opt/venv
COPY deploy/gunicorn.conf.py deploy/init_secrets.py deploy/docker-entrypoint.sh /app/deploy/
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Liveness without curl (not in the slim image): any non-2xx answer or no answer fails.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
ENTRYPOINT ["/bin/sh", "/app/deploy/docker-entrypoint.sh"]
# The app comes from APP_MODULE (gunicorn.conf.py): `<APP_MODULE>:create_app()`.
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
