"""The request hooks every service installs: request id, trace id, metrics, access log, timing,
security headers.

They run on every request of every service, so they are built for cost (docs/benchmarks.md,
"The shared hooks"): one WSGI wrapper around the Flask app instead of Flask's after/teardown
hooks, reading the WSGI environ and adding the response headers to the plain header list
``start_response`` receives, plus one ``before_request`` hook that puts the ids in ``g`` for the
view. Werkzeug's ``Headers`` and the ``request``/``g`` proxies cost more per call than the
work done here.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from types import TracebackType
from typing import Any

from flask import Flask
from flask.globals import _cv_app, _cv_request
from werkzeug.middleware.proxy_fix import ProxyFix

from servicekit import requestmetrics, tracing
from servicekit.logging import log_access

#: What an incoming X-Request-ID may look like; anything else is replaced, never echoed.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

#: The environ key holding the request's :class:`RequestState`.
STATE_KEY = "servicekit.request"
#: Set in the environ once the app wrote the request's access line.
ACCESS_LOGGED_KEY = "servicekit.access_logged"

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def valid_request_id(value: str | None) -> bool:
    """Whether an incoming request id is safe to keep and log."""
    return value is not None and REQUEST_ID_PATTERN.fullmatch(value) is not None


class RequestState:
    """What the hooks know of one request, kept in its WSGI environ."""

    __slots__ = (
        "parent_span_id",
        "request_id",
        "span",
        "span_tokens",
        "started",
        "status",
        "trace_flags",
        "trace_id",
    )

    def __init__(self, request_id: str, started: float) -> None:
        self.request_id = request_id
        self.started = started
        #: The answered status, once ``start_response`` was called.
        self.status: int | None = None
        self.trace_id = ""
        self.trace_flags = "01"
        #: The caller's span, from a valid incoming ``traceparent``.
        self.parent_span_id: str | None = None
        #: The request's OpenTelemetry span, and the context tokens to leave, when traced.
        self.span: Any = None
        self.span_tokens: Any = None


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


class TrustedProxyFix(ProxyFix):
    """Werkzeug's ProxyFix, reading the usual unquoted X-Forwarded-* values without its
    character-by-character parser (a tenth of a hello-world's CPU for five headers).

    A value with a quote in it goes to Werkzeug's parser, so both read every value the same.
    """

    def _get_real_value(self, trusted: int, value: str | None) -> str | None:
        if not (trusted and value) or '"' in value:
            return super()._get_real_value(trusted, value)
        values = [item for item in (item.strip(" \t") for item in value.split(",")) if item]
        return values[-trusted] if len(values) >= trusted else None


class RequestHooks:
    """The WSGI wrapper that times, counts, logs and labels every request of ``app``."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp, service: str) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.service = service
        self.recorder = requestmetrics.RequestRecorder(service)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        # os.urandom's hex is a third of uuid4().hex's cost, and as random.
        request_id = incoming if incoming and valid_request_id(incoming) else os.urandom(16).hex()
        state = environ[STATE_KEY] = RequestState(request_id, started)
        tracing.read_incoming_trace(state, environ.get("HTTP_TRACEPARENT"))
        recorder = self.recorder
        recorder.start(state)

        def respond(status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = None):  # type: ignore[no-untyped-def]
            if state.status is None:
                self._finish(environ, state, int(status[:3]), headers)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, respond)
        except BaseException as error:
            if state.status is None:  # propagated out of Flask (testing): still counted
                self._record(environ, state, 500)
            tracing.end_request_trace(state, error)
            raise
        finally:
            recorder.end(state)
            tracing.end_request_trace(state)

    def _finish(
        self, environ: dict[str, Any], state: RequestState, status: int, headers: list[Any]
    ) -> None:
        """Count, log and label the response; runs inside Flask's request context."""
        duration = self._record(environ, state, status)
        present = {name.lower() for name, _value in headers}
        if "x-request-id" in present:  # a view may not answer with an id of its own
            headers[:] = [item for item in headers if item[0].lower() != "x-request-id"]
        headers.append(("X-Request-ID", state.request_id))
        if "server-timing" not in present:
            headers.append(("Server-Timing", f"app;dur={duration * 1000:.1f}"))
        csp = self.app.config.get("CONTENT_SECURITY_POLICY") or DEFAULT_CSP
        https = environ.get("wsgi.url_scheme") == "https"
        for name, value in _security_headers(csp, https):
            if name.lower() not in present:
                headers.append((name, value))

    def _record(self, environ: dict[str, Any], state: RequestState, status: int) -> float:
        """Metrics, the request span's status and the access log line; the duration in s."""
        state.status = status
        duration = time.perf_counter() - state.started
        request_context = _cv_request.get(None)
        rule = request_context.request.url_rule if request_context is not None else None
        route = rule.rule if rule is not None else None
        method = environ.get("REQUEST_METHOD", "GET")
        self.recorder.record(method, route, status, duration)
        tracing.finish_request_trace(state, status)
        app_context = _cv_app.get(None)
        user_id = app_context.g.__dict__.get("user_id") if app_context is not None else None
        # with the prefix the service is mounted at (/api/v1/...), as the client sent it
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING")
        if query:
            path = f"{path}?{query}"
        if not path.isascii():  # WSGI passes bytes as latin-1; the client sent UTF-8
            path = path.encode("latin-1").decode("utf-8", "replace")
        logged = log_access(
            method=method,
            path=path,
            status=status,
            duration_ms=round(duration * 1000, 2),
            user_id=user_id,
            remote_addr=environ.get("REMOTE_ADDR"),
            request_id=state.request_id,
            trace_id=state.trace_id,
        )
        if logged:  # gunicorn's access logger skips a request the app logged (one line each)
            environ[ACCESS_LOGGED_KEY] = True
        return duration


def _start_request() -> None:
    """before_request: the ids in ``g`` for the view, and the request span when traced."""
    request_context = _cv_request.get()
    state: RequestState | None = request_context.request.environ.get(STATE_KEY)
    if state is None:  # pragma: no cover - the app is called without its wrapper
        return
    request = request_context.request
    rule = request.url_rule
    service = request_context.app.config["SERVICE_NAME"]
    tracing.start_request_span(state, service, request.method, rule.rule if rule else None)
    ids = _cv_app.get().g.__dict__
    ids["request_id"] = state.request_id
    ids["trace_id"] = state.trace_id
    ids["trace_flags"] = state.trace_flags


def install_request_hooks(app: Flask, service: str | None = None) -> None:
    """Install the request hooks and, when configured, ProxyFix.

    ``service`` names the app in metrics and traces (default: the app's import name).

    ``TRUSTED_PROXIES`` is the number of proxies in front of the app (nginx: 1). Only that many
    X-Forwarded-* values are believed; with 0 they are all ignored.
    """
    app.config["SERVICE_NAME"] = service or app.config.get("SERVICE_NAME") or app.name
    tracing.register_service(app.config["SERVICE_NAME"])
    wrapped: WSGIApp = RequestHooks(app, app.wsgi_app, app.config["SERVICE_NAME"])
    proxies = int(app.config.get("TRUSTED_PROXIES", 0))
    if proxies:
        # Outside the hooks, so that the access log has the client's address it resolved.
        wrapped = TrustedProxyFix(
            wrapped,
            x_for=proxies,
            x_proto=proxies,
            x_host=proxies,
            x_port=proxies,
            x_prefix=proxies,
        )
    app.wsgi_app = wrapped  # type: ignore[method-assign,assignment]
    # First, so that every other before_request hook (guards, identity) logs with the ids.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
