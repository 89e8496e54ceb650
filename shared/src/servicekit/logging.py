"""Structured logging: one JSON object per line, each carrying the current request and trace id.

A line is formatted on the thread that logs it (it reads the request's ids), and written either
at once or, in a gunicorn worker, by a writer thread of the process
(:func:`write_in_background`, started in ``post_fork``): the request thread only queues the
line, and the writer sends whatever has queued up in one write.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import current_app, g, has_app_context, has_request_context

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}

_HANDLER_NAME = "servicekit-json"


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON, with the fields passed in ``extra=``.

    ``service`` is the app's ``SERVICE_NAME`` when the record is logged inside an app context
    (several apps share a process in the embedded runner), else the one given here.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
        }
        if has_app_context():
            entry["service"] = current_app.config.get("SERVICE_NAME") or self.service
        if has_request_context():
            if "request_id" in g:
                entry["request_id"] = g.request_id
            if "trace_id" in g:
                entry["trace_id"] = g.trace_id
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class JsonLineHandler(logging.Handler):
    """Writes formatted lines to a stream, from a writer thread once :meth:`start` ran.

    The queue is bounded: when the writer falls behind, lines are written by the logging
    thread itself, never dropped.
    """

    def __init__(self, stream: TextIO, max_queued: int = 10_000) -> None:
        super().__init__()
        self.stream = stream
        self._queue: queue.Queue[str | None] = queue.Queue(max_queued)
        self._writer: threading.Thread | None = None
        self._writer_pid: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
            if self._writer is not None and self._writer_pid == os.getpid():
                try:
                    self._queue.put_nowait(line)
                    return
                except queue.Full:
                    pass
            self.stream.write(line + "\n")
            self.stream.flush()
        except Exception:  # logging must never fail the caller
            self.handleError(record)

    def start(self) -> None:
        """Write from a thread of this process from now on (again after a fork: threads do not
        survive one, so a forked child calls this itself)."""
        if self._writer is not None and self._writer_pid == os.getpid():
            return
        self._queue = queue.Queue(self._queue.maxsize)
        self._writer_pid = os.getpid()
        self._writer = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """Write what is queued, then write directly again."""
        writer, self._writer = self._writer, None
        if writer is not None and self._writer_pid == os.getpid():
            self._queue.put(None)
            writer.join(timeout=5)

    def _write(self) -> None:
        while True:
            line = self._queue.get()
            lines: list[str] = []
            while line is not None:
                lines.append(line)
                if len(lines) >= 512:
                    break
                try:
                    line = self._queue.get_nowait()
                except queue.Empty:
                    break
            if lines:
                try:
                    self.stream.write("\n".join(lines) + "\n")
                    self.stream.flush()
                except Exception:  # noqa: S110 - nowhere left to report a failed log write
                    pass
            if line is None:
                return


def _json_handler() -> JsonLineHandler | None:
    for handler in logging.getLogger().handlers:
        if handler.get_name() == _HANDLER_NAME and isinstance(handler, JsonLineHandler):
            return handler
    return None


def write_in_background() -> None:
    """Hand the JSON log lines of this process to a writer thread (gunicorn's ``post_fork``)."""
    handler = _json_handler()
    if handler is not None:
        handler.start()


def stop_writing_in_background() -> None:
    """Flush the queued lines and write directly again (gunicorn's ``worker_exit``)."""
    handler = _json_handler()
    if handler is not None:
        handler.stop()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record of the process to stderr as JSON lines (idempotent).

    In the embedded development mode three services share a process; the first one to call
    this names the service of the lines logged outside any app (the embedded runner calls it
    first), and a line logged inside an app names that app's service.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        return
    handler = JsonLineHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
