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
