"""Prometheus metrics every service exposes at ``/metrics``: requests, latency, pool, refusals.

One set of metrics for the whole process, each labelled with the service, so the three apps of
the embedded default (one process) stay apart and one scrape shows them all. Under gunicorn the
workers are separate processes: prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
set and cleared by deploy/gunicorn.conf.py before the app is imported) has each worker write its
values to memory-mapped files in that folder, and a scrape, whichever worker answers it, adds up
every worker's files. Without that variable the values live in the process (the embedded
default, ``flask run``, tests).

The request metrics (count, latency, in flight, refusals) and how each request is recorded
are in :mod:`servicekit.requestmetrics`; this module has the rest and serves the exposition.

``/metrics`` is for the scraper only: the gateway refuses it from outside (the nginx template),
and Prometheus reaches each replica directly (compose.yaml).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from flask import Flask, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event
from sqlalchemy.engine import Engine

from servicekit.health import readiness_results
from servicekit.requestmetrics import flush_recorded, on_flush

POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections checked out of the pool now.",
    ["service"],
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "db_pool_connections_open",
    "Database connections open now (in use or idle in the pool).",
    ["service"],
    multiprocess_mode="livesum",
)
BUILD_INFO = Gauge(
    "app_build_info",
    "Always 1; the labels say which version of the service runs on which Python.",
    ["service", "version", "python"],
    multiprocess_mode="max",
)


def _version(service: str) -> str:
    try:
        return metadata.version(f"flask-services-{service}")
    except metadata.PackageNotFoundError:
        return "unknown"


def watch_pool(engine: Engine, service: str) -> None:
    """Track ``engine``'s pool: connections open and checked out, as gauges.

    The pool's events only add to and remove from sets (atomic, no lock); the gauges are set
    from them when the request figures are flushed (servicekit.requestmetrics), not written to
    the multiprocess files twice per request.
    """
    in_use = POOL_IN_USE.labels(service)
    open_ = POOL_OPEN.labels(service)
    checked_out: set[int] = set()
    connections: set[int] = set()

    def on_connect(dbapi_connection: Any, *_args: Any) -> None:
        connections.add(id(dbapi_connection))

    def on_close(dbapi_connection: Any, *_args: Any) -> None:
        connections.discard(id(dbapi_connection))

    # By the pool's own record of the connection: an invalidated one is checked in as None.
    def on_checkout(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        checked_out.add(id(record))

    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        checked_out.discard(id(record))

    def set_gauges() -> None:
        in_use.set(len(checked_out))
        open_.set(len(connections))

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "close", on_close)
    event.listen(engine, "close_detached", on_close)
    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    on_flush(set_gauges)


class _ReadinessCollector:
    """``readiness_check_up{check=...}``: the app's readiness checks, run at scrape time.

    Run by the scrape rather than kept in a gauge: the answer is fresh, and no worker's stale
    value can linger in the multiprocess files.
    """

    def __init__(self, service: str) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "readiness_check_up",
            "1 if the dependency answered the readiness check at this scrape, else 0.",
            labels=["service", "check"],
        )
        for name, result in readiness_results().items():
            family.add_metric([self.service, name], 1.0 if result == "ok" else 0.0)
        yield family


def metrics_text(service: str) -> bytes:
    """The exposition of every metric of this process (of every worker under gunicorn), and
    ``service``'s readiness checks run now."""
    flush_recorded()  # this worker's figures are current; the others' at most a flush late
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    readiness = CollectorRegistry(auto_describe=False)
    readiness.register(_ReadinessCollector(service))
    return body + generate_latest(readiness)


def _metrics_view() -> Response:
    body = metrics_text(current_app.config["SERVICE_NAME"])
    response = current_app.response_class(body, content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def install_metrics(app: Flask, service: str) -> None:
    """Expose ``/metrics`` on ``app`` and publish the service's build info.

    The request metrics themselves are recorded by :mod:`servicekit.hooks`.
    """
    BUILD_INFO.labels(service, _version(service), platform.python_version()).set(1)
    app.add_url_rule("/metrics", "metrics", _metrics_view, methods=["GET"])
