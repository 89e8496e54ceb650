"""The request hooks every service installs: request id, trace id, metrics, access log, timing,
security headers.

They are two hooks (one before, one after the view) doing everything, because each hook Flask
calls costs time on every request; tracing adds a teardown hook only to end its span.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from functools import lru_cache

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit import metrics, tracing

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
    req = request._get_current_object()  # type: ignore[attr-defined]
    incoming = req.headers.get("X-Request-ID")
    g.request_id = incoming if valid_request_id(incoming) else uuid.uuid4().hex
    service = current_app.config["SERVICE_NAME"]
    g.request_started = metrics.start_request(service)
    rule = req.url_rule
    tracing.start_request_trace(
        service, req.headers, req.method, rule.rule if rule else None, g.request_id
    )


@lru_cache(maxsize=8)
def _security_headers(csp: str, https: bool) -> tuple[tuple[str, str], ...]:
    """The headers every response gets unless the view set its own."""
    headers = [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return tuple(headers)


def _finish_response(response: Response) -> Response:
    # This runs on every request, so it reads the request and g once and touches the headers in
    # one pass: werkzeug's Headers.setdefault scans the list and raises internally on a miss,
    # which cost more than everything else here together (measured with cProfile).
    req = request._get_current_object()  # type: ignore[attr-defined]
    ctx = g._get_current_object()
    # A request that failed before our before_request ran (e.g. 413 while routing) has no id yet.
    if "request_id" not in ctx:
        _start_request()
    rule = req.url_rule
    metrics.finish_request(
        current_app.config["SERVICE_NAME"],
        req.method,
        rule.rule if rule else None,
        response.status_code,
        ctx.request_started,
    )
    tracing.finish_request_trace(response.status_code)
    duration_ms = (time.perf_counter() - ctx.request_started) * 1000
    headers = response.headers
    present = {name.lower() for name, _value in headers}
    for name, value in (
        ("X-Request-ID", ctx.request_id),
        ("Server-Timing", f"app;dur={duration_ms:.1f}"),
    ):
        if name.lower() in present:
            headers[name] = value
        else:
            headers.add(name, value)
    csp = current_app.config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP
    for name, value in _security_headers(csp, req.is_secure):
        if name.lower() not in present:
            headers.add(name, value)
    access_log.info(
        "request",
        extra={
            "method": req.method,
            # with the prefix the service is mounted at (/api/v1/...), as the client sent it
            "path": req.script_root + (req.full_path.rstrip("?") if req.query_string else req.path),
            "status": response.status_code,
            "duration_ms": round(duration_ms, 2),
            "user_id": ctx.get("user_id"),
            "remote_addr": req.remote_addr,
        },
    )
    return response


def _end_request(error: BaseException | None) -> None:
    tracing.end_request_trace(error)


def install_request_hooks(app: Flask, service: str | None = None) -> None:
    """Install the before/after request hooks and, when configured, ProxyFix.

    ``service`` names the app in metrics and traces (default: the app's import name).

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
    app.config["SERVICE_NAME"] = service or app.config.get("SERVICE_NAME") or app.name
    tracing.register_service(app.config["SERVICE_NAME"])
    app.before_request(_start_request)
    app.after_request(_finish_response)
    app.teardown_request(_end_request)
