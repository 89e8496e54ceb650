"""``/healthz`` (the process answers; no I/O) and ``/readyz`` (its dependencies answer)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, jsonify

log = logging.getLogger("servicekit.health")

ReadinessCheck = Callable[[], None]
"""A check raises any exception when its dependency is not usable."""

_EXTENSION_KEY = "servicekit.readiness"

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    """Liveness: answers as long as the process can serve a request."""
    return jsonify(status="ok", service=current_app.config.get("SERVICE_NAME"))


@health.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: runs every registered check; 503 naming each one that failed."""
    checks: dict[str, str] = {}
    for name, check in current_app.extensions.get(_EXTENSION_KEY, {}).items():
        try:
            check()
        except Exception:  # a failing check is a result to report, whatever it raised
            log.warning("readiness check %r failed", name, exc_info=True)
            checks[name] = "failed"
        else:
            checks[name] = "ok"
    ready = all(result == "ok" for result in checks.values())
    status = "ok" if ready else "unavailable"
    body = jsonify(status=status, service=current_app.config.get("SERVICE_NAME"), checks=checks)
    return body, 200 if ready else 503


def add_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    """Register ``check`` under ``name``; ``/readyz`` runs it on every call."""
    app.extensions.setdefault(_EXTENSION_KEY, {})[name] = check


def install_health_endpoints(app: Flask) -> None:
    """Mount ``/healthz`` and ``/readyz`` at the root of ``app`` (under its prefix)."""
    app.extensions.setdefault(_EXTENSION_KEY, {})
    app.register_blueprint(health)
