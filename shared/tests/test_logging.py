from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
from typing import Any

import pytest

from servicekit.logging import (
    JsonFormatter,
    JsonLineHandler,
    _sole_json_handler,
    configure_logging,
    stop_writing_in_background,
    write_in_background,
)
from tests.support import AppFactory

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_formatter_writes_one_json_object_with_extras() -> None:
    record = logging.LogRecord(
        "auth.events", logging.WARNING, __file__, 1, "login %s", ("failed",), None
    )
    record.user_id = "7"
    line = JsonFormatter("auth").format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "login failed"
    assert entry["level"] == "WARNING"
    assert entry["service"] == "auth"
    assert entry["user_id"] == "7"
    assert "request_id" not in entry


def test_a_line_logged_inside_an_app_names_that_apps_service(make_app: AppFactory) -> None:
    # The embedded runner serves three apps from one process and one handler: each line must
    # name the service it came from, not the one that configured logging first.
    record = logging.LogRecord("servicekit.access", logging.INFO, __file__, 1, "request", (), None)
    formatter = JsonFormatter("embedded")
    with make_app().app_context():
        assert json.loads(formatter.format(record))["service"] == "demo"
    assert json.loads(formatter.format(record))["service"] == "embedded"


def test_formatter_includes_exceptions() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "oops", (), sys.exc_info())
    entry = json.loads(JsonFormatter("x").format(record))
    assert "ValueError: bad" in entry["exception"]


def test_configure_logging_is_idempotent() -> None:
    root = logging.getLogger()
    configure_logging("one")
    configure_logging("two")
    handlers = [h for h in root.handlers if h.get_name() == "servicekit-json"]
    assert len(handlers) == 1


def _handler_on(stream: io.StringIO) -> logging.Logger:
    handler = JsonLineHandler(stream)
    handler.setFormatter(JsonFormatter("demo"))
    logger = logging.getLogger(f"test.background.{id(stream)}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def test_lines_are_written_at_once_until_a_writer_thread_starts() -> None:
    stream = io.StringIO()
    logger = _handler_on(stream)
    logger.info("direct")
    assert json.loads(stream.getvalue())["message"] == "direct"


def test_a_writer_thread_writes_every_line_formatted_on_the_logging_thread(
    make_app: AppFactory,
) -> None:
    stream = io.StringIO()
    logger = _handler_on(stream)
    (handler,) = logger.handlers
    assert isinstance(handler, JsonLineHandler)
    handler.start()
    app = make_app()

    @app.get("/log")
    def log_view() -> dict[str, bool]:
        for number in range(200):
            logger.info("line %d", number)
        return {"ok": True}

    app.test_client().get("/log", headers={"X-Request-ID": "request-in-background"})
    handler.stop()
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [entry["message"] for entry in entries] == [f"line {n}" for n in range(200)]
    # the request's ids were read while formatting, on the request's thread
    assert {entry["request_id"] for entry in entries} == {"request-in-background"}


def test_a_full_queue_writes_on_the_logging_thread_instead_of_dropping() -> None:
    stream = io.StringIO()
    handler = JsonLineHandler(stream, max_queued=1)
    handler.setFormatter(JsonFormatter("demo"))
    handler._writer, handler._writer_pid = threading.Thread(target=lambda: None), os.getpid()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m%d", (1,), None)
    handler.emit(record)  # queued (nobody drains it)
    handler.emit(record)  # the queue is full: written here
    assert json.loads(stream.getvalue())["message"] == "m1"


def test_the_root_json_handler_starts_and_stops_its_writer() -> None:
    write_in_background()
    stop_writing_in_background()


def test_the_access_line_written_directly_is_the_line_of_its_record(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In production the JSON handler is the root's only handler, and the access line skips
    # the LogRecord; under test capture it is a record. Both must write the same line.
    app = make_app()

    def access_line(handlers: list[logging.Handler]) -> dict[str, Any]:
        stream = io.StringIO()
        handler = JsonLineHandler(stream)
        handler.setFormatter(JsonFormatter("demo"))
        monkeypatch.setattr(logging.root, "handlers", [handler, *handlers])
        # the production path when the JSON handler is alone, even with a logger between
        logging.getLogger("servicekit")
        assert (_sole_json_handler() is handler) == (not handlers)
        headers = {"X-Request-ID": "req-12345678", "traceparent": TRACEPARENT}
        app.test_client().get("/who?x=1", headers=headers)
        monkeypatch.undo()
        (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
        assert line.pop("time")
        assert isinstance(line.pop("duration_ms"), float)
        return line

    direct = access_line([])
    through_a_record = access_line([logging.NullHandler()])
    assert direct == through_a_record
    assert list(direct) == list(through_a_record)  # the same order of fields too
    assert direct["logger"] == "servicekit.access"
    assert direct["user_id"] == "42"
    assert direct["path"] == "/who?x=1"
    assert direct["request_id"] == "req-12345678"
    assert direct["trace_id"] == TRACEPARENT.split("-")[1]
