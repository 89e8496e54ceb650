"""The request hooks every service installs: request id, access log, timing, security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

access_log = logging.getLogger("servicekit.access")

#: What an incoming X-Request-ID may look like; anything else is replaced, never echoed.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def valid_request_id(value: str | None) -> bool:
    """Whether an incoming request id is safe to keep and log."""
    return value is not None and REQUEST_ID_PATTERN.fullmatch(value) is not None


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID")
    g.request_id = incoming if valid_request_id(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_response(response: Response) -> Response:
    # A request that failed before our before_request ran (e.g. 413 while routing) has no id yet.
    if "request_id" not in g:
        _start_request()
    duration_ms = (time.perf_counter() - g.request_started) * 1000
    headers = response.headers
    headers["X-Request-ID"] = g.request_id
    headers["Server-Timing"] = f"app;dur={duration_ms:.1f}"
    headers.setdefault("Content-Security-Policy", _csp())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    access_log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.full_path.rstrip("?") if request.query_string else request.path,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 2),
            "user_id": g.get("user_id"),
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _csp() -> str:
    from flask import current_app

    policy: str = current_app.config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP
    return policy


def install_request_hooks(app: Flask) -> None:
    """Install the before/after request hooks and, when configured, ProxyFix.

    ``TRUSTED_PROXIES`` is the number of proxies in front of the app (nginx: 1). Only that many
    X-Forwarded-* values are believed; with 0 they are all ignored.
    """
    proxies = int(app.config.get("TRUSTED_PROXIES", 0))
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_port=proxies,
            x_prefix=proxies,
        )
    app.before_request(_start_request)
    app.after_request(_finish_response)
