"""Metrics and trace ids in the embedded default (three apps in one process)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest

from servicekit.logging import JsonFormatter
from tests.integration.harness import System

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture
def json_lines() -> Iterator[list[dict[str, object]]]:
    lines: list[dict[str, object]] = []
    formatter = JsonFormatter("system")

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(formatter.format(record)))

    handler = Collect(logging.INFO)
    logging.getLogger().addHandler(handler)
    yield lines
    logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/v1/projects"])
def test_an_incoming_trace_id_is_in_every_log_line_of_the_request(
    system: System, json_lines: list[dict[str, object]], path: str
) -> None:
    headers = {"traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}
    system.browser().get(path, headers=headers)
    request_lines = [line for line in json_lines if "request_id" in line]
    assert request_lines, "the request logged its access line at least"
    assert {line["trace_id"] for line in request_lines} == {TRACE_ID}


def test_each_service_counts_its_own_requests_at_its_metrics(system: System) -> None:
    browser = system.browser()
    browser.get("/auth/login")
    for prefix, service in (("", "blog"), ("/auth", "auth"), ("/api", "api")):
        body = browser.get(f"{prefix}/metrics").get_data(as_text=True)
        assert re.search(rf'^app_build_info\{{[^}}]*service="{service}"', body, re.MULTILINE)
    body = browser.get("/metrics").get_data(as_text=True)
    login = r'http_requests_total\{method="GET",route="/login",service="auth",status="200"\}'
    assert re.search(login, body)


@pytest.mark.parametrize(
    ("path", "service"),
    [("/", "blog"), ("/auth/login?next=/", "auth"), ("/api/v1/projects", "api")],
)
def test_an_access_line_names_the_service_that_answered_and_the_full_path(
    system: System, json_lines: list[dict[str, object]], path: str, service: str
) -> None:
    system.browser().get(path)
    access = [line for line in json_lines if line["logger"] == "servicekit.access"]
    assert [(line["service"], line["path"]) for line in access] == [(service, path)]


def test_werkzeug_lines_name_the_service_and_carry_no_colours_off_a_terminal() -> None:
    from werkzeug import serving

    from system.embedded import MOUNTS, WerkzeugLines

    def werkzeug_line(path: str) -> logging.LogRecord:
        # what serving.WSGIRequestHandler.log_request hands the "werkzeug" logger for a 404
        request_line = serving._ansi_style(f"GET {path} HTTP/1.1", "yellow")
        message = '127.0.0.1 - - [02/Dec/2026 10:00:00] "%s" %s %s'
        args = (request_line, "404", "-")
        return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, message, args, None)

    assert "\x1b[" in werkzeug_line("/").getMessage(), "Werkzeug colours it (else no test)"
    formatter = JsonFormatter("embedded")
    plain = WerkzeugLines(MOUNTS, colours=False)
    lines = {}
    for path in ("/api/v1/nothing", "/auth/nothing", "/apiary", "/nothing"):
        record = werkzeug_line(path)
        assert plain.filter(record)
        lines[path] = json.loads(formatter.format(record))
    assert {path: line["service"] for path, line in lines.items()} == {
        "/api/v1/nothing": "api",
        "/auth/nothing": "auth",
        "/apiary": "blog",
        "/nothing": "blog",
    }
    assert all("\x1b" not in line["message"] for line in lines.values())
    assert '"GET /api/v1/nothing HTTP/1.1" 404 -' in lines["/api/v1/nothing"]["message"]
    on_a_terminal = werkzeug_line("/nothing")
    WerkzeugLines(MOUNTS, colours=True).filter(on_a_terminal)
    assert "\x1b[" in on_a_terminal.getMessage()
