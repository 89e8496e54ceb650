"""Trace ids in every log line, OpenTelemetry spans (in-memory exporter), propagation on calls."""

# length: the tests of servicekit.tracing, one module as the code is one.
from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import redis
from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text

from servicekit import tracing
from servicekit.logging import JsonFormatter
from servicekit.revocation import MemoryRevocationStore
from servicekit.testing import TestTokenIssuer
from servicekit.verifier import TokenVerifier
from tests.support import AppFactory

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the services 'demo' and 'dbdemo', exported in memory."""
    exporter = InMemorySpanExporter()
    for service in ("demo", "dbdemo"):
        tracing.start_tracing(service, SimpleSpanProcessor(exporter))
    yield exporter
    tracing.stop_tracing()


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """Every log record of the test as the JSON line production would write."""
    lines: list[dict[str, Any]] = []
    formatter = JsonFormatter("demo")

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    handler = Collect(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    yield lines
    root.removeHandler(handler)


def with_logging_view(app: Flask) -> Flask:
    @app.get("/work")
    def work() -> Any:
        current_app.logger.info("doing the work")
        return {"ok": True}

    return app


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00-" + "0" * 32 + f"-{PARENT_ID}-01",
        f"00-{TRACE_ID}-" + "0" * 16 + "-01",
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
        f"01-{TRACE_ID}-{PARENT_ID}-01",
        f"00-{TRACE_ID}-{PARENT_ID}",
        "garbage",
    ],
)
def test_invalid_traceparents_are_ignored(value: str) -> None:
    assert tracing.parse_traceparent(value) is None


def test_the_incoming_trace_id_is_in_every_log_line_without_an_exporter(
    make_app: AppFactory, log_lines: list[dict[str, Any]]
) -> None:
    app = with_logging_view(make_app())
    app.test_client().get("/work", headers={"traceparent": TRACEPARENT})
    request_lines = [line for line in log_lines if "request_id" in line]
    assert {line["logger"] for line in request_lines} >= {"demo", "servicekit.access"}
    assert {line["trace_id"] for line in request_lines} == {TRACE_ID}


def test_a_request_id_shaped_like_a_trace_id_becomes_the_trace_id(
    make_app: AppFactory, log_lines: list[dict[str, Any]]
) -> None:
    request_id = "0af7651916cd43dd8448eb211c80319c"
    app = with_logging_view(make_app())
    app.test_client().get("/work", headers={"X-Request-ID": request_id})
    assert {line["trace_id"] for line in log_lines if "request_id" in line} == {request_id}


def test_without_any_id_each_request_gets_its_own_trace_id(
    make_app: AppFactory, log_lines: list[dict[str, Any]]
) -> None:
    app = with_logging_view(make_app())
    client = app.test_client()
    client.get("/work", headers={"traceparent": "not-a-traceparent"})
    client.get("/work")
    ids = {line["trace_id"] for line in log_lines if line["logger"] == "servicekit.access"}
    assert len(ids) == 2
    assert all(len(i) == 32 and int(i, 16) for i in ids)


def test_the_request_span_continues_the_incoming_trace(
    make_app: AppFactory, spans: InMemorySpanExporter, log_lines: list[dict[str, Any]]
) -> None:
    app = with_logging_view(make_app())
    app.test_client().get("/work", headers={"traceparent": TRACEPARENT})
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /work"
    assert span.kind is SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["http.route"] == "/work"
    assert {line["trace_id"] for line in log_lines if "request_id" in line} == {TRACE_ID}


def test_a_request_without_traceparent_starts_a_trace_and_logs_its_id(
    make_app: AppFactory, spans: InMemorySpanExporter, log_lines: list[dict[str, Any]]
) -> None:
    app = with_logging_view(make_app())
    app.test_client().get("/work")
    (span,) = spans.get_finished_spans()
    assert span.parent is None
    trace_id = format(span.context.trace_id, "032x")
    assert {line["trace_id"] for line in log_lines if "request_id" in line} == {trace_id}


def test_a_failing_request_ends_its_span_as_an_error(
    make_app: AppFactory, spans: InMemorySpanExporter
) -> None:
    make_app().test_client().get("/boom")
    (span,) = spans.get_finished_spans()
    assert not span.status.is_ok
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 500


def _children_of(parent: ReadableSpan, spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]


def test_sql_statements_are_child_spans_of_the_request(
    database_app: tuple[Flask, SQLAlchemy], spans: InMemorySpanExporter
) -> None:
    app, db = database_app

    @app.get("/query")
    def query() -> Any:
        return {"one": db.session.execute(text("SELECT 1")).scalar()}

    app.test_client().get("/query")
    (request_span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    (sql,) = _children_of(request_span, spans)
    assert sql.name == "SELECT"
    assert sql.attributes is not None
    assert sql.attributes["db.query.text"] == "SELECT 1"


def test_sql_outside_a_request_makes_no_span(
    database_app: tuple[Flask, SQLAlchemy], spans: InMemorySpanExporter
) -> None:
    app, db = database_app
    with app.app_context():
        db.session.execute(text("SELECT 1"))
    assert spans.get_finished_spans() == ()


def test_redis_commands_are_child_spans_of_the_request(
    make_app: AppFactory, spans: InMemorySpanExporter
) -> None:
    app = make_app()
    # Nothing listens on port 1: the command fails, and its span says so.
    client = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))

    @app.get("/cache")
    def cache() -> Any:
        for call in (lambda: client.get("key"), lambda: client.pipeline().incr("a").execute()):
            with contextlib.suppress(redis.RedisError):
                call()
        return {"ok": True}

    app.test_client().get("/cache")
    (request_span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    children = _children_of(request_span, spans)
    assert [s.name for s in children] == ["GET", "pipeline"]
    assert all(not s.status.is_ok for s in children)


class _JwksServer:
    """A JWKS endpoint on a free local port that remembers the traceparent of each call."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        received = self.traceparents = []  # type: list[str | None]
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                received.append(self.headers.get("traceparent"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/jwks.json"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_app(make_app: AppFactory) -> Iterator[tuple[Flask, _JwksServer]]:
    """An app whose view fetches the JWKS over HTTP, as blog and api fetch auth's."""
    key = TestTokenIssuer()
    server = _JwksServer(key.jwks())
    verifier = TokenVerifier(
        issuer="i", audience="a", revocations=MemoryRevocationStore(), jwks_url=server.url
    )
    app = make_app()

    @app.get("/verify")
    def verify() -> Any:
        verifier.key_for(key.kid)
        return {"ok": True}

    yield app, server
    server.close()


def test_the_jwks_fetch_is_a_client_span_whose_id_the_callee_receives(
    jwks_app: tuple[Flask, _JwksServer], spans: InMemorySpanExporter
) -> None:
    app, server = jwks_app
    app.test_client().get("/verify", headers={"traceparent": TRACEPARENT})
    (request_span,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    (fetch,) = _children_of(request_span, spans)
    assert fetch.kind is SpanKind.CLIENT
    assert fetch.name == "GET jwks"
    # The callee (auth) continues the trace as a child of the fetch span.
    assert server.traceparents == [f"00-{TRACE_ID}-{format(fetch.context.span_id, '016x')}-01"]


def test_the_trace_id_is_passed_on_without_an_exporter(
    jwks_app: tuple[Flask, _JwksServer],
) -> None:
    app, server = jwks_app
    app.test_client().get("/verify", headers={"traceparent": TRACEPARENT})
    (sent,) = server.traceparents
    parsed = tracing.parse_traceparent(sent)
    assert parsed is not None
    assert parsed[0] == TRACE_ID
    assert parsed[1] != PARENT_ID


def test_no_exporter_unless_the_otel_variables_ask_for_one() -> None:
    assert tracing.exporter_from_env({}) is None
    assert tracing.exporter_from_env({"OTEL_TRACES_EXPORTER": "none"}) is None
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert tracing.exporter_from_env({**endpoint, "OTEL_SDK_DISABLED": "true"}) is None
    assert type(tracing.exporter_from_env(endpoint)).__name__ == "OTLPSpanExporter"
    console = tracing.exporter_from_env({"OTEL_TRACES_EXPORTER": "console"})
    assert type(console).__name__ == "ConsoleSpanExporter"
    with pytest.raises(ValueError, match="unsupported"):
        tracing.exporter_from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_a_forked_worker_makes_its_own_tracers(monkeypatch: pytest.MonkeyPatch) -> None:
    exporter = InMemorySpanExporter()
    tracing.start_tracing("demo", SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing.os, "getpid", lambda: -1)  # as if forked
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    tracing.register_service("demo")
    tracing.start_tracing_after_fork()
    assert tracing._tracers["demo"] is not None
    tracing.stop_tracing()
