"""``/healthz`` (the process answers; no I/O) and ``/readyz`` (its dependencies answer).

``/readyz`` names every dependency with its state. A *critical* one failing (the database:
nothing works without it) makes it 503, so an orchestrator stops sending traffic. A
non-critical one failing (Redis: rate limits fall back to per-process counters, pages still
render) leaves it 200 with ``"status": "degraded"``: taking every replica out of service
because of a dependency they can work without would turn a degraded site into a dead one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, jsonify

from servicekit.redisclient import is_redis_uri, redis_client

log = logging.getLogger("servicekit.health")

ReadinessCheck = Callable[[], None]
"""A check raises any exception when its dependency is not usable."""

_EXTENSION_KEY = "servicekit.readiness"
_OPTIONAL_KEY = "servicekit.readiness.optional"

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Response:
    """Liveness: answers as long as the process can serve a request."""
    return jsonify(status="ok", service=current_app.config.get("SERVICE_NAME"))


def readiness_results() -> dict[str, str]:
    """Run every check of the current app: ``{"database": "ok", "redis": "failed", ...}``."""
    checks: dict[str, str] = {}
    for name, check in current_app.extensions.get(_EXTENSION_KEY, {}).items():
        try:
            check()
        except Exception:  # a failing check is a result to report, whatever it raised
            log.warning("readiness check %r failed", name, exc_info=True)
            checks[name] = "failed"
        else:
            checks[name] = "ok"
    return checks


@health.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: runs every registered check; 503 when a critical one failed."""
    optional: set[str] = current_app.extensions.get(_OPTIONAL_KEY, set())
    checks = readiness_results()
    failed = {name for name, result in checks.items() if result != "ok"}
    ready = not (failed - optional)
    status = "unavailable" if not ready else "degraded" if failed else "ok"
    body = jsonify(status=status, service=current_app.config.get("SERVICE_NAME"), checks=checks)
    return body, 200 if ready else 503


def add_readiness_check(
    app: Flask, name: str, check: ReadinessCheck, *, critical: bool = True
) -> None:
    """Register ``check`` under ``name``; ``/readyz`` runs it on every call.

    A failing ``critical`` check makes ``/readyz`` answer 503; a failing non-critical one
    is reported (``"status": "degraded"``) with a 200. A check must be bounded in time.
    """
    app.extensions.setdefault(_EXTENSION_KEY, {})[name] = check
    optional = app.extensions.setdefault(_OPTIONAL_KEY, set())
    if critical:
        optional.discard(name)
    else:
        optional.add(name)


def redis_check(uris: list[str], timeout_ms: int) -> ReadinessCheck:
    """A check that pings each Redis of ``uris`` (clients made once, bounded by ``timeout_ms``)."""
    clients = [redis_client(uri, timeout_ms) for uri in dict.fromkeys(uris)]

    def check() -> None:
        for client in clients:
            client.ping()

    return check


def add_redis_readiness_check(app: Flask) -> None:
    """Report the Redis of rate limits and revocations (if they use one) as ``redis``.

    Not critical: rate limits fall back to per-process counters and the identity rules of
    "When Redis is down" (docs/architecture.md) apply, so the service keeps serving.
    """
    config = app.config
    uris = [
        uri
        for uri in (config.get("RATELIMIT_STORAGE_URI", ""), config.get("REVOCATION_STORE_URI", ""))
        if is_redis_uri(uri)
    ]
    if uris:
        check = redis_check(uris, config["REDIS_TIMEOUT_MS"])
        add_readiness_check(app, "redis", check, critical=False)


def install_health_endpoints(app: Flask) -> None:
    """Mount ``/healthz`` and ``/readyz`` at the root of ``app`` (under its prefix)."""
    app.extensions.setdefault(_EXTENSION_KEY, {})
    app.extensions.setdefault(_OPTIONAL_KEY, set())
    app.register_blueprint(health)
