"""Django settings of the DRF peer: production-like (no debug), JSON only, one database."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit

_url = urlsplit(os.environ["BENCH_API_DATABASE_URL"])

SECRET_KEY = os.environ.get("BENCH_DJANGO_SECRET_KEY") or secrets.token_urlsafe(48)
DEBUG = False
ALLOWED_HOSTS = ["*"]  # behind the benchmark's own gateway on loopback
ROOT_URLCONF = "bench.peers.drf.urls"
WSGI_APPLICATION = "bench.peers.drf.wsgi.application"
USE_TZ = True
INSTALLED_APPS = ["rest_framework", "bench.peers.drf"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.path.lstrip("/"),
        "USER": _url.username or "",
        "PASSWORD": _url.password or "",
        "HOST": _url.hostname or "",
        "PORT": str(_url.port or ""),
        # Persistent connections, as a tuned deployment runs (the default, 0, reconnects on
        # every request); our services keep a pool too.
        "CONN_MAX_AGE": None,
        "CONN_HEALTH_CHECKS": True,
    }
}
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
