from __future__ import annotations

import json
import logging
import sys

from servicekit.logging import JsonFormatter, configure_logging


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
