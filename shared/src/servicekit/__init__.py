"""servicekit: what the three Flask services share.

A service's app factory makes one call, :func:`init_service`, to get the request hooks, error
rendering, health endpoints and logging. The parts are importable on their own:

* :mod:`servicekit.variables`  configuration variables: the environment, overrides first
* :mod:`servicekit.settings`   settings from the environment, validated at start-up
* :mod:`servicekit.hooks`      request id, JSON access log, Server-Timing, security headers
* :mod:`servicekit.metrics`    Prometheus metrics at ``/metrics`` (requests, latency, pool)
* :mod:`servicekit.tracing`    the trace id of every request; OpenTelemetry spans when exported
* :mod:`servicekit.sessions`   Flask's cookie sessions without their per-request cost
* :mod:`servicekit.errors`     problem+json (RFC 9457) or HTML error pages, never a traceback
* :mod:`servicekit.pages`      the site's look: base template, stylesheet, form macros
* :mod:`servicekit.staticfiles` static URLs with a content hash, so caches may keep them a year
* :mod:`servicekit.health`     ``/healthz`` and ``/readyz``
* :mod:`servicekit.inputs`     bounded ids and page numbers, unstorable text, deeply nested JSON
* :mod:`servicekit.database`   Flask-SQLAlchemy + Flask-Migrate wiring, readiness check
* :mod:`servicekit.migrationenv` the Alembic env every service's migrations/env.py runs
* :mod:`servicekit.claims`     what an identity token says: its claims, the roles, the admin rule
* :mod:`servicekit.verifier`   checking auth's tokens: keys, signature, claims, revocation
* :mod:`servicekit.signingkey` an Ed25519 signing key: its public JWK, a signature over claims
* :mod:`servicekit.identity`   the app's verifier; a request's token verified once
* :mod:`servicekit.identitycookie` the browser side: the identity cookie, cookie login, view guards
* :mod:`servicekit.bearer`     the API side: ``Authorization: Bearer`` tokens, roles and scopes
* :mod:`servicekit.clock`      the current time, timezone-aware UTC
* :mod:`servicekit.revocation` where revoked tokens are remembered
* :mod:`servicekit.redisclient` Redis clients bounded in time, never retried after a timeout
* :mod:`servicekit.devidentity` a development-only signing key to run blog or api alone
* :mod:`servicekit.testing`    test helpers: a test token issuer, SQL query counting, private Redis
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from servicekit.errors import ErrorStyle, install_error_handlers
from servicekit.health import add_redis_readiness_check, install_health_endpoints
from servicekit.hooks import install_request_hooks
from servicekit.inputs import install_input_guards
from servicekit.logging import configure_logging
from servicekit.metrics import install_metrics
from servicekit.sessions import install_sessions
from servicekit.settings import ConfigError, Settings
from servicekit.staticfiles import install_static_versions

__all__ = ["ConfigError", "Settings", "init_service"]


def init_service(
    app: Flask,
    settings: Settings,
    config: Mapping[str, Any] | None = None,
    *,
    error_style: ErrorStyle,
) -> None:
    """Configure ``app`` from ``settings`` and install everything every service shares.

    ``config`` holds the service's own keys and the overrides that name no variable (see
    :mod:`servicekit.settings`): the app's whole configuration is set here, once, before any
    part of the app reads it.

    ``error_style`` is ``"html"`` for services people browse, ``"problem"`` for JSON APIs.
    Call it first in the app factory, before registering the service's own blueprints (the
    bounded ``<int:...>`` converter applies only to routes added after it).
    """
    app.config.from_mapping(settings.flask_config())
    app.config.from_mapping(config or {})
    configure_logging(settings.service, settings.log_level)
    install_request_hooks(app, settings.service)
    install_sessions(app)
    install_input_guards(app)
    install_error_handlers(app, error_style)
    install_health_endpoints(app)
    add_redis_readiness_check(app)
    install_metrics(app, settings.service)
    install_static_versions(app)
