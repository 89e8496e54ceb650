"""Tracing: one trace id per request in every log line, and OpenTelemetry spans when exported.

Two levels, so the default costs almost nothing:

* **Always**: the request's trace id comes from an incoming W3C ``traceparent`` header (the
  gateway sends one on every request, making one up when the client did not), else from the
  request id when that already looks like a trace id (32 hex digits: nginx's ``$request_id``),
  else a new random one. It is kept in ``g.trace_id``; :mod:`servicekit.logging` writes it into
  every JSON line of the request and outgoing calls (:func:`outgoing_headers`) pass it on, so one
  id finds a request in the gateway's, blog's and auth's logs with no tracing backend at all.
* **When an exporter is configured** by the standard OpenTelemetry variables
  (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, or
  ``OTEL_TRACES_EXPORTER=otlp|console``; ``OTEL_SDK_DISABLED=true`` or
  ``OTEL_TRACES_EXPORTER=none`` turn it off): spans for the request, every SQL statement, every
  Redis command and the outgoing HTTP calls (the JWKS fetch), exported in batches. Sampling,
  batching and the exporter's endpoint, headers and timeout follow the other ``OTEL_*``
  variables, read by the OpenTelemetry SDK itself.

The spans are hand-written hooks (Flask request hooks, SQLAlchemy cursor events, a wrapper
around redis-py's command and pipeline execution) rather than the contrib instrumentation
packages: four small hooks instead of five dependencies, and no per-request work when off.

A tracer provider runs a background export thread, which does not survive ``fork``. Under
gunicorn (``preload_app``) the app is built in the master and the workers are forked from it,
so the provider is made in each process when it first needs one: gunicorn's ``post_fork`` hook
calls :func:`start_tracing_after_fork`, and any other server gets one at its first request.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import g, has_request_context
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from werkzeug.datastructures import Headers

#: version 00 of W3C Trace Context: trace id, parent span id, flags (lowercase hex only).
TRACEPARENT_PATTERN = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_TRACE_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16

_propagator = TraceContextTextMapPropagator()
#: The tracer of the request being handled in this context: SQL and Redis spans use it.
_current_tracer: ContextVar[Tracer | None] = ContextVar("servicekit_tracer", default=None)

_lock = threading.Lock()
_pid: int | None = None
#: This process's tracer per service (None: tracing off for that service).
_tracers: dict[str, Tracer | None] = {}
_providers: list[TracerProvider] = []
#: Services whose apps were built in this process (and so in a gunicorn master before fork).
_services: set[str] = set()
_instrumented = False


def parse_traceparent(value: str | None) -> tuple[str, str, str] | None:
    """``(trace_id, parent_span_id, flags)`` of a valid ``traceparent`` header, else None."""
    if not value:
        return None
    match = TRACEPARENT_PATTERN.fullmatch(value.strip())
    if match is None or match[1] == _INVALID_TRACE_ID or match[2] == _INVALID_SPAN_ID:
        return None
    return match[1], match[2], match[3]


def exporter_from_env(environ: Mapping[str, str] | None = None) -> SpanExporter | None:
    """The span exporter the standard ``OTEL_*`` variables ask for, or None (tracing off)."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = {n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "").lower().split(",") if n}
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if "none" in names or not (names or endpoint):
        return None
    if names == {"console"}:
        return ConsoleSpanExporter()
    if names - {"otlp", "console"}:
        raise ValueError(f"unsupported OTEL_TRACES_EXPORTER: {env['OTEL_TRACES_EXPORTER']!r}")
    # Imported only when used: the exporter pulls in protobuf.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def start_tracing(service: str, processor: SpanProcessor | None = None) -> Tracer | None:
    """Create this process's tracer for ``service``, exporting through ``processor``.

    Without ``processor`` the exporter comes from the ``OTEL_*`` variables, batched; with none
    configured, tracing stays off for ``service`` and None is returned. Tests pass a
    ``SimpleSpanProcessor(InMemorySpanExporter())``.
    """
    global _pid
    with _lock:
        if _pid != os.getpid():  # a forked child: the parent's providers are not ours
            _tracers.clear()
            _providers.clear()
            _pid = os.getpid()
        if processor is None:
            exporter = exporter_from_env()
            processor = BatchSpanProcessor(exporter) if exporter is not None else None
        if processor is None:
            _tracers[service] = None
            return None
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(processor)
        _providers.append(provider)
        tracer = provider.get_tracer("servicekit")
        _tracers[service] = tracer
        _instrument_libraries()
        return tracer


def start_tracing_after_fork() -> None:
    """In a freshly forked worker: a tracer (from the ``OTEL_*`` variables) per service built
    in the parent. gunicorn's ``post_fork`` calls this (deploy/gunicorn.conf.py)."""
    for service in sorted(_services):
        start_tracing(service)


def stop_tracing() -> None:
    """Flush and drop every tracer of this process (tests; a worker's exit)."""
    with _lock:
        for provider in _providers:
            provider.shutdown()
        _providers.clear()
        _tracers.clear()


def register_service(service: str) -> None:
    """Note that an app of ``service`` lives in this process (called by the request hooks)."""
    _services.add(service)


def _tracer_for(service: str) -> Tracer | None:
    if _pid == os.getpid() and service in _tracers:
        return _tracers[service]
    return start_tracing(service)


# --- the request span ---------------------------------------------------------------------------


def start_request_trace(
    service: str, headers: Headers, method: str, route: str | None, request_id: str
) -> None:
    """Set ``g.trace_id`` for the current request, and start its span when tracing is on."""
    incoming = headers.get("traceparent")
    parsed = parse_traceparent(incoming)
    tracer = _tracer_for(service)
    if tracer is None:
        if parsed is not None:
            g.trace_id, g.trace_flags = parsed[0], parsed[2]
        elif _TRACE_ID_PATTERN.fullmatch(request_id) and request_id != _INVALID_TRACE_ID:
            g.trace_id, g.trace_flags = request_id, "01"
        else:
            g.trace_id, g.trace_flags = os.urandom(16).hex(), "01"
        return
    parent = _propagator.extract({"traceparent": incoming}) if parsed else None
    span = tracer.start_span(
        f"{method} {route or '<unmatched>'}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route or "<unmatched>"},
    )
    span_context = span.get_span_context()
    g.trace_id = format(span_context.trace_id, "032x")
    g.trace_flags = format(span_context.trace_flags, "02x")
    g.trace_span = span
    g.trace_token = otel_context.attach(trace.set_span_in_context(span))
    g.trace_tracer_token = _current_tracer.set(tracer)


def finish_request_trace(status: int) -> None:
    """Record the response status on the request's span (an after_request step)."""
    span = g.get("trace_span")
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))


def end_request_trace(error: BaseException | None) -> None:
    """End the request's span and leave its context (a teardown_request step)."""
    span = g.pop("trace_span", None)
    if span is None:
        return
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR))
    span.end()
    _current_tracer.reset(g.pop("trace_tracer_token"))
    otel_context.detach(g.pop("trace_token"))


# --- outgoing calls -----------------------------------------------------------------------------


def outgoing_headers() -> dict[str, str]:
    """The ``traceparent`` to send on a call made while handling a request.

    With tracing on it names the current span (the client span of :func:`client_span`); off,
    it carries the request's trace id with a new span id, so the callee logs the same trace id.
    Outside a request: no header.
    """
    carrier: dict[str, str] = {}
    if trace.get_current_span().get_span_context().is_valid:
        _propagator.inject(carrier)
    elif has_request_context() and "trace_id" in g:
        carrier["traceparent"] = f"00-{g.trace_id}-{os.urandom(8).hex()}-{g.trace_flags}"
    return carrier


@contextmanager
def client_span(name: str, **attributes: Any) -> Iterator[dict[str, str]]:
    """A client span around an outgoing call; yields the headers to send with it."""
    tracer = _current_tracer.get()
    if tracer is None:
        yield outgoing_headers()
        return
    with tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes):
        yield outgoing_headers()


# --- SQLAlchemy and Redis -----------------------------------------------------------------------


def _instrument_libraries() -> None:
    """Hook SQL statements and Redis commands, once per process (only when tracing is on)."""
    global _instrumented
    if _instrumented:
        return
    _instrumented = True
    _instrument_sqlalchemy()
    _instrument_redis()


def _instrument_sqlalchemy() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    # SQLAlchemy's cursor events: (conn, cursor, statement, parameters, context, executemany)
    def before(conn: Any, _cursor: Any, statement: str, *args: Any) -> None:
        context = args[1]
        tracer = _current_tracer.get()
        if tracer is None or context is None:
            return
        context._servicekit_span = tracer.start_span(
            statement.split(None, 1)[0].upper() if statement else "SQL",
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": conn.dialect.name, "db.query.text": statement},
        )

    def after(_conn: Any, _cursor: Any, _statement: str, *args: Any) -> None:
        context = args[1]
        span = getattr(context, "_servicekit_span", None)
        if span is not None:
            span.end()
            context._servicekit_span = None

    def on_error(exception_context: Any) -> None:
        context = exception_context.execution_context
        span = getattr(context, "_servicekit_span", None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR))
            span.end()
            context._servicekit_span = None

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "handle_error", on_error)


def _instrument_redis() -> None:
    import redis.client

    command: Any = redis.client.Redis.execute_command
    pipeline: Any = redis.client.Pipeline.execute

    def execute_command(self: Any, *args: Any, **options: Any) -> Any:
        tracer = _current_tracer.get()
        if tracer is None:
            return command(self, *args, **options)
        name = str(args[0]) if args else "redis"
        with tracer.start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes={"db.system.name": "redis"}
        ):
            return command(self, *args, **options)

    def execute(self: Any, *args: Any, **options: Any) -> Any:
        tracer = _current_tracer.get()
        if tracer is None:
            return pipeline(self, *args, **options)
        names = " ".join(str(c[0][0]) for c in self.command_stack[:5] if c[0])
        with tracer.start_as_current_span(
            "pipeline",
            kind=SpanKind.CLIENT,
            attributes={"db.system.name": "redis", "db.operation.name": names},
        ):
            return pipeline(self, *args, **options)

    redis.client.Redis.execute_command = execute_command  # type: ignore[method-assign]
    redis.client.Pipeline.execute = execute  # type: ignore[method-assign]
