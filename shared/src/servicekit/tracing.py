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

# length: the request's trace id and the OpenTelemetry spans share state; kept whole so it is read
# once.
from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

if TYPE_CHECKING:
    from servicekit.hooks import RequestState

_LOWER_HEX = "0123456789abcdef"
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


def _is_lower_hex(value: str) -> bool:
    return not value.strip(_LOWER_HEX)


def parse_traceparent(value: str | None) -> tuple[str, str, str] | None:
    """``(trace_id, parent_span_id, flags)`` of a valid ``traceparent`` header, else None."""
    if not value:
        return None
    value = value.strip()
    # version 00 is exactly 55 characters; str.strip of the hex digits leaves the dashes only:
    # a few fast string operations instead of a regular expression, on every request.
    if len(value) != 55 or value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    trace_id, span_id, flags = value[3:35], value[36:52], value[53:]
    if value[:2] != "00" or not (
        _is_lower_hex(trace_id) and _is_lower_hex(span_id) and _is_lower_hex(flags)
    ):
        return None
    if trace_id == _INVALID_TRACE_ID or span_id == _INVALID_SPAN_ID:
        return None
    return trace_id, span_id, flags


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


def read_incoming_trace(state: RequestState, traceparent: str | None) -> None:
    """Set the request's trace id (and its caller's span) from the incoming headers.

    Runs on every request, traced or not, so it parses with string operations, not the
    OpenTelemetry propagator: this is what puts the trace id in every log line.
    """
    parsed = parse_traceparent(traceparent)
    if parsed is not None:
        state.trace_id, state.parent_span_id, state.trace_flags = parsed
    elif (
        len(state.request_id) == 32
        and _is_lower_hex(state.request_id)
        and state.request_id != _INVALID_TRACE_ID
    ):
        state.trace_id = state.request_id  # nginx's $request_id: the gateway's trace id
    else:
        state.trace_id = os.urandom(16).hex()


def tracing_on(service: str) -> bool:
    """Whether this process exports spans for ``service``."""
    return _tracer_for(service) is not None


def start_request_span(state: RequestState, service: str, method: str, route: str | None) -> None:
    """Start the request's span (tracing on), a child of the caller's span when there is one."""
    tracer = _tracer_for(service)
    if tracer is None:
        return
    parent = None
    if state.parent_span_id is not None:
        caller = trace.SpanContext(
            trace_id=int(state.trace_id, 16),
            span_id=int(state.parent_span_id, 16),
            is_remote=True,
            trace_flags=trace.TraceFlags(int(state.trace_flags, 16)),
        )
        parent = trace.set_span_in_context(trace.NonRecordingSpan(caller))
    span = tracer.start_span(
        f"{method} {route or '<unmatched>'}",
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"http.request.method": method, "http.route": route or "<unmatched>"},
    )
    span_context = span.get_span_context()
    state.trace_id = format(span_context.trace_id, "032x")
    state.trace_flags = format(span_context.trace_flags, "02x")
    state.span = span
    state.span_tokens = (
        otel_context.attach(trace.set_span_in_context(span)),
        _current_tracer.set(tracer),
    )


def finish_request_trace(state: RequestState, status: int) -> None:
    """Record the response status on the request's span, if it has one."""
    span = state.span
    if span is not None:
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))


def end_request_trace(state: RequestState, error: BaseException | None = None) -> None:
    """End the request's span, if it has one, and leave its context."""
    span, state.span = state.span, None
    if span is None:
        return
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR))
    span.end()
    context_token, tracer_token = state.span_tokens
    _current_tracer.reset(tracer_token)
    otel_context.detach(context_token)


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
