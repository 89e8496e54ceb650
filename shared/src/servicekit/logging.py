"""Structured logging: one JSON object per line, each carrying the current request and trace id.

A line is formatted on the thread that logs it (it reads the request's ids), and written either
at once or, in a gunicorn worker, by a writer thread of the process
(:func:`write_in_background`, started in ``post_fork``): the request thread only appends the
line to a queue (an access line as its fields: the writer formats a batch at once), and the
writer wakes a few times a second (at once for a warning or an error) to send whatever has
queued up in one write. Waking it for every line cost more CPU than formatting the line
(docs/benchmarks.md, "The shared hooks").
"""

from __future__ import annotations

# length: the formatter, the access line's direct path and the handler's writer thread all make
# the same JSON line; kept in one module so that the two paths can be read side by side.
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, TextIO

from flask.globals import _cv_app, _cv_request

# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}

_HANDLER_NAME = "servicekit-json"

#: This process's id, kept: os.getpid() is a system call, and a fork gives the child its own.
_pid = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _pid.__setitem__(0, os.getpid()))


def _process_id() -> int:
    return _pid[0]


#: One encoder for every line: json.dumps with an argument builds a new one per call.
_ENCODER = json.JSONEncoder(default=str)

access_log = logging.getLogger("servicekit.access")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON, with the fields passed in ``extra=``.

    ``service`` is the app's ``SERVICE_NAME`` when the record is logged inside an app context
    (several apps share a process in the embedded runner), else the one given here.
    """

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        # (whole second, its text): many lines share a second, and datetime's formatting is
        # the slowest part of a line. One tuple, so that threads never pair one second's
        # number with another's text.
        self._second: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        """``created`` as ISO 8601 with milliseconds in UTC, as ``isoformat`` writes it."""
        whole = int(created)
        second, text = self._second
        if second != whole:
            text = datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = (whole, text)
        return f"{text}.{int((created - whole) * 1000):03d}+00:00"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
        }
        # several apps share a process in the embedded runner: the line names its own
        entry["service"] = _service_of_this_app(self.service)
        if _cv_request.get(None) is not None:  # in a request: its ids, kept in g by the hooks
            ids = _cv_app.get().g.__dict__
            if "request_id" in ids:
                entry["request_id"] = ids["request_id"]
            if "trace_id" in ids:
                entry["trace_id"] = ids["trace_id"]
        fields = record.__dict__
        for key in fields:
            if key not in _RECORD_ATTRIBUTES and key[0] != "_":
                entry[key] = fields[key]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _ENCODER.encode(entry)


def _service_of_this_app(default: str) -> str:
    """The SERVICE_NAME of the app whose context is active, else ``default``."""
    app_context = _cv_app.get(None)
    if app_context is None:
        return default
    return str(app_context.app.config.get("SERVICE_NAME") or default)


def log_access(**fields: Any) -> bool:
    """Log the access line of a request (logger ``servicekit.access``) with ``fields`` and the
    process id (which gunicorn worker answered); whether a line was logged.

    When the JSON handler is the only place a record of this logger can go (the production
    setup), the line is built and queued straight away: the same line as the record would
    give, without a LogRecord and the logging machinery around it (a third of the hooks' cost,
    docs/benchmarks.md). Otherwise it is an ordinary record,
    ``access_log.info("request", extra=fields)``, for whatever else listens (tests' capture).
    """
    if not access_log.isEnabledFor(logging.INFO):
        return False
    fields["pid"] = _pid[0]
    handler = _sole_json_handler()
    if handler is not None:
        handler.write_access(fields)
        return True
    record = access_log.makeRecord(
        access_log.name, logging.INFO, __file__, 0, "request", (), None, extra=fields
    )
    access_log.handle(record)
    return True


def _sole_json_handler() -> JsonLineHandler | None:
    """The JSON handler, if it is the only handler an access record would reach."""
    root = logging.root
    if len(root.handlers) != 1 or access_log.filters:
        return None
    # callHandlers walks up to the root: every logger on the way must pass the record on.
    logger: logging.Logger | None = access_log
    while logger is not None and logger is not root:
        if logger.handlers or not logger.propagate:
            return None
        logger = logger.parent
    handler = root.handlers[0]
    if (
        type(handler) is JsonLineHandler
        and not handler.filters
        and handler.level <= logging.INFO
        and type(handler.formatter) is JsonFormatter
    ):
        return handler
    return None


class JsonLineHandler(logging.Handler):
    """Writes formatted lines to a stream, from a writer thread once :meth:`start` ran.

    The queue is bounded: when the writer falls behind, lines are written by the logging
    thread itself, never dropped.
    """

    #: Seconds between the writer's rounds; a warning or an error wakes it at once.
    FLUSH_INTERVAL = 0.1
    #: Queued lines that wake the writer before its round.
    BATCH = 256

    def __init__(self, stream: TextIO, max_queued: int = 10_000) -> None:
        super().__init__()
        self.stream = stream
        self.max_queued = max_queued
        #: Lines, and access lines still to format: (time, service, fields).
        self._lines: deque[str | tuple[float, str, dict[str, Any]]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._writer: threading.Thread | None = None
        self._writer_pid: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._put(self.format(record), record.levelno)
        except Exception:  # logging must never fail the caller
            self.handleError(record)

    def write_access(self, fields: dict[str, Any]) -> None:
        """Write an access line of ``fields``, as :class:`JsonFormatter` formats its record.

        With the writer thread running, the request thread only queues the fields: the writer
        turns a whole batch into JSON at once, which costs less than a line at a time between
        requests (the encoder's code and data stay in the CPU's caches).
        """
        formatter = self.formatter
        assert isinstance(formatter, JsonFormatter)
        access = (time.time(), _service_of_this_app(formatter.service), fields)
        if not self._queue(access, logging.INFO) and (line := self._access_line(access)):
            self._write_now(line)

    def _access_line(self, access: tuple[float, str, dict[str, Any]]) -> str | None:
        created, service, fields = access
        formatter = self.formatter
        assert isinstance(formatter, JsonFormatter)
        try:
            entry: dict[str, Any] = {
                "time": formatter._time(created),
                "level": "INFO",
                "logger": access_log.name,
                "service": service,
                "message": "request",
            }
            for key in ("request_id", "trace_id"):  # where the formatter puts a request's ids
                if key in fields:
                    entry[key] = fields[key]
            entry.update(fields)
            return _ENCODER.encode(entry)
        except Exception:  # logging must never fail the caller
            self.handleError(logging.makeLogRecord({"msg": "access line", "args": ()}))
            return None

    def _put(self, line: str, level: int) -> None:
        """Queue ``line`` for the writer thread, or write it now."""
        if not self._queue(line, level):
            self._write_now(line)

    def _queue(self, item: str | tuple[float, str, dict[str, Any]], level: int) -> bool:
        """Hand ``item`` to this process's writer thread; False when it has none or is full."""
        if self._writer is None or self._writer_pid != _process_id():
            return False
        lines = self._lines
        if len(lines) >= self.max_queued:
            return False
        lines.append(item)  # atomic: no lock, no wake-up
        if (level >= logging.WARNING or len(lines) >= self.BATCH) and not self._wake.is_set():
            self._wake.set()
        return True

    def _write_now(self, line: str) -> None:
        with self.lock or contextlib.nullcontext():
            self.stream.write(line + "\n")
            self.stream.flush()

    def start(self) -> None:
        """Write from a thread of this process from now on (again after a fork: threads do not
        survive one, so a forked child calls this itself)."""
        if self._writer is not None and self._writer_pid == _process_id():
            return
        self._lines = deque()  # a parent's queued lines are the parent's to write
        self._wake = threading.Event()
        self._stopping = False
        self._writer_pid = _process_id()
        self._writer = threading.Thread(target=self._write, name="log-writer", daemon=True)
        self._writer.start()

    def stop(self) -> None:
        """Write what is queued, then write directly again."""
        writer, self._writer = self._writer, None
        if writer is not None and self._writer_pid == _process_id():
            self._stopping = True
            self._wake.set()
            writer.join(timeout=5)

    def _write(self) -> None:
        while True:
            self._wake.wait(self.FLUSH_INTERVAL)
            self._wake.clear()
            stopping = self._stopping
            self._write_queued()
            if stopping:
                return

    def _write_queued(self) -> None:
        lines: list[str] = []
        take = self._lines.popleft
        while True:
            try:
                item = take()
            except IndexError:
                break
            if isinstance(item, str):
                lines.append(item)
            elif (line := self._access_line(item)) is not None:
                lines.append(line)
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except Exception:  # noqa: S110 - nowhere left to report a failed log write
                pass


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
