"""How each request is counted: the request metrics, and the recorder the shared hooks call.

Under gunicorn the figures of a request are queued and added to the metrics by a thread of the
worker (:func:`record_in_background`), because in prometheus_client's multiprocess mode every
update is a locked write to a memory-mapped file; see :class:`RequestRecorder`.

Labels are bounded: the route is the URL rule's template (``/posts/<slug>``), never the raw
path, and every request that matched no rule (404, 405 before routing) shares one value, so a
scanner cannot create a series per URL it tries.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

#: The route label of every request that matched no URL rule.
UNMATCHED_ROUTE = "<unmatched>"

#: The methods a request is labelled with; any other is labelled OTHER.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Seconds; from a cached page (a few ms) to the gateway's read timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route template and status.",
    ["service", "method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the first request hook to the response, by route template.",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
# livesum: a dead worker's requests are not in flight any more (its files are dropped).
IN_FLIGHT = Gauge(
    "http_requests_in_flight",
    "Requests being handled now.",
    ["service"],
    multiprocess_mode="livesum",
)
RATE_LIMIT_REFUSALS = Counter(
    "rate_limit_refusals",
    "Requests refused with 429 by a rate limit, by route template.",
    ["service", "route"],
)


class RequestRecorder:
    """Records the requests of one service: in flight, count by status, latency, 429 refusals.

    In multiprocess mode every update of a value takes a lock, a system call and a write to the
    memory-mapped file: five per request, a tenth of the shared hooks' cost. Once
    :func:`record_in_background` ran (gunicorn's ``post_fork``), a request only appends its
    figures to a queue and joins a set, both atomic without a lock; a thread of the worker adds
    them up every :data:`FLUSH_INTERVAL` seconds, each counter once per batch. A scrape flushes
    the worker that answers it first: the other workers' figures are at most that late.
    Without the thread (development, tests) the values are written at once.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._in_flight = IN_FLIGHT.labels(service)
        #: One entry per request being handled (its state object's id).
        self._active: set[int] = set()
        self._queued: deque[tuple[str, str | None, int, float]] = deque()
        # ``.labels()`` looks the child up by its label values on every call (a lock, a tuple,
        # a dict); each (method, route, status) keeps its children, found with one dict lookup.
        self._children: dict[tuple[str, str | None, int], tuple[Any, Any, Any]] = {}
        _RECORDERS.append(self)

    def start(self, request: object) -> None:
        """``request`` (any object that lives as long as it) is being handled."""
        self._active.add(id(request))

    def record(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """Count one answered request that took ``seconds``."""
        if _flusher.running():
            self._queued.append((method, route, status, seconds))
        else:
            self._add(method, route, status, seconds, 1)

    def end(self, request: object) -> None:
        """``request`` is answered (or failed)."""
        self._active.discard(id(request))
        if not _flusher.running():
            self._in_flight.set(len(self._active))

    def flush(self) -> None:
        """Add the queued requests to the metrics, and set the in-flight gauge."""
        counts: dict[tuple[str, str | None, int], int] = {}
        take = self._queued.popleft
        while True:
            try:
                method, route, status, seconds = take()
            except IndexError:
                break
            key = (method, route, status)
            counts[key] = counts.get(key, 0) + 1
            self._children_for(*key)[1].observe(seconds)
        for (method, route, status), count in counts.items():
            self._add(method, route, status, None, count)
        self._in_flight.set(len(self._active))

    def _add(
        self, method: str, route: str | None, status: int, seconds: float | None, count: int
    ) -> None:
        counter, latency, refusals = self._children_for(method, route, status)
        counter.inc(count)
        if seconds is not None:
            latency.observe(seconds)
        if refusals is not None:
            refusals.inc(count)

    def _children_for(self, method: str, route: str | None, status: int) -> tuple[Any, Any, Any]:
        if method not in KNOWN_METHODS:  # a client may send any token as its method
            method = "OTHER"
        children = self._children.get((method, route, status))
        if children is None:
            label = route or UNMATCHED_ROUTE
            children = (
                REQUESTS.labels(self.service, method, label, str(status)),
                LATENCY.labels(self.service, method, label),
                RATE_LIMIT_REFUSALS.labels(self.service, label) if status == 429 else None,
            )
            # Bounded: routes are the app's URL rules, methods and statuses a few each.
            self._children[method, route, status] = children
        return children


#: Every recorder of the process, for the flushing thread and the scrape.
_RECORDERS: list[RequestRecorder] = []

#: Seconds between two flushes of the queued request figures.
FLUSH_INTERVAL = 0.25


class _Flusher:
    """The thread that flushes every recorder of this process (one per process, after fork)."""

    def __init__(self) -> None:
        self._running = False
        self._stop = threading.Event()
        # A forked child has no thread (and os.getpid() per request would be a system call).
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._running = False

    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        if self._running:
            return
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="metrics-flusher", daemon=True).start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._stop.set()
            flush_recorded()

    def _run(self) -> None:
        stop = self._stop
        while not stop.wait(FLUSH_INTERVAL):
            flush_recorded()


_flusher = _Flusher()


#: What else sets its metrics at each flush (the database pools' gauges).
_FLUSH_CALLBACKS: list[Callable[[], None]] = []


def on_flush(callback: Callable[[], None]) -> None:
    """Call ``callback`` at every flush: to set gauges from counts kept in memory."""
    _FLUSH_CALLBACKS.append(callback)


def flush_recorded() -> None:
    """Add every request queued in this process to the metrics now, and set the gauges."""
    for recorder in list(_RECORDERS):
        recorder.flush()
    for callback in list(_FLUSH_CALLBACKS):
        callback()


def record_in_background() -> None:
    """Queue request figures and flush them from a thread of this process (gunicorn's
    ``post_fork``: threads do not survive a fork, so each worker starts its own)."""
    _flusher.start()


def stop_recording_in_background() -> None:
    """Flush what is queued and write request figures at once again (``worker_exit``)."""
    _flusher.stop()
