"""Metrics at /metrics: names, route templates as labels, bounded labels, pool and refusals."""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from servicekit import requestmetrics
from servicekit.requestmetrics import record_in_background, stop_recording_in_background
from tests.support import AppFactory


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    response = app.test_client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def with_item_route(app: Flask) -> Flask:
    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        if item_id > 100:
            abort(404)
        return {"id": item_id}

    return app


def test_requests_are_counted_by_route_template_never_the_raw_path(make_app: AppFactory) -> None:
    app = with_item_route(make_app())
    client = app.test_client()
    before = scrape(app)
    for item_id in (1, 2, 3, 500):
        client.get(f"/items/{item_id}")
    after = scrape(app)

    route = {"service": "demo", "method": "GET", "route": "/items/<int:item_id>"}
    ok = value(after, "http_requests_total", **route, status="200")
    assert ok - value(before, "http_requests_total", **route, status="200") == 3
    missing = value(after, "http_requests_total", **route, status="404")
    assert missing - value(before, "http_requests_total", **route, status="404") == 1
    histogram = value(after, "http_request_duration_seconds_count", **route)
    assert histogram - value(before, "http_request_duration_seconds_count", **route) == 4
    body = app.test_client().get("/metrics").get_data(as_text=True)
    assert "/items/1" not in body
    assert "/items/500" not in body


def test_unmatched_paths_and_made_up_methods_share_one_label_value(make_app: AppFactory) -> None:
    app = make_app()
    client = app.test_client()
    before = scrape(app)
    for path in ("/nope", "/wp-admin.php", "/a/b/c"):
        assert client.get(path).status_code == 404
    assert client.open("/hello", method="BREW").status_code == 405
    after = scrape(app)
    for method, status, count in (("GET", "404", 3), ("OTHER", "405", 1)):
        labels = {"service": "demo", "method": method, "route": "<unmatched>", "status": status}
        assert (
            value(after, "http_requests_total", **labels)
            - value(before, "http_requests_total", **labels)
            == count
        )
    body = client.get("/metrics").get_data(as_text=True)
    assert "wp-admin" not in body
    assert "BREW" not in body


def test_nothing_is_in_flight_between_requests_and_errors_are_counted(
    make_app: AppFactory,
) -> None:
    app = make_app()
    client = app.test_client()
    client.get("/hello")
    client.get("/boom")
    samples = scrape(app)
    # the scrape itself is the one request in flight
    assert value(samples, "http_requests_in_flight", service="demo") == 1
    labels = {"service": "demo", "method": "GET", "route": "/boom", "status": "500"}
    assert value(samples, "http_requests_total", **labels) >= 1


def test_rate_limit_refusals_are_counted(make_app: AppFactory) -> None:
    app = make_app()

    @app.get("/limited")
    def limited() -> Any:
        abort(429)

    before = scrape(app)
    app.test_client().get("/limited")
    after = scrape(app)
    labels = {"service": "demo", "route": "/limited"}
    refusals = "rate_limit_refusals_total"
    assert value(after, refusals, **labels) - value(before, refusals, **labels) == 1


def test_build_info_names_the_service(make_app: AppFactory) -> None:
    body = make_app().test_client().get("/metrics").get_data(as_text=True)
    assert re.search(r'app_build_info\{[^}]*service="demo"[^}]*\} 1\.0', body)


def test_metrics_are_never_cached(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/metrics")
    assert response.headers["Cache-Control"] == "no-store"


def test_database_pool_use_is_tracked(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = database_app
    with app.app_context():
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            during = scrape(app)
        after = scrape(app)
    in_use = "db_pool_connections_in_use"
    assert value(during, in_use, service="dbdemo") - value(after, in_use, service="dbdemo") == 1
    assert value(after, "db_pool_connections_open", service="dbdemo") >= 1


def test_readiness_checks_run_at_each_scrape(make_app: AppFactory) -> None:
    from servicekit.health import add_readiness_check

    app = make_app()
    state = {"redis": "up"}

    def redis_check() -> None:
        if state["redis"] != "up":
            raise ConnectionError("redis down")

    add_readiness_check(app, "redis", redis_check)
    assert value(scrape(app), "readiness_check_up", service="demo", check="redis") == 1
    state["redis"] = "down"
    assert value(scrape(app), "readiness_check_up", service="demo", check="redis") == 0


def test_figures_queued_by_the_background_thread_are_all_counted_at_a_scrape(
    make_app: AppFactory,
) -> None:
    # As in a gunicorn worker (post_fork): requests queue their figures, a scrape flushes them.
    app = with_item_route(make_app())
    client = app.test_client()
    route = {"service": "demo", "method": "GET", "route": "/items/<int:item_id>"}
    before = scrape(app)
    record_in_background()
    try:
        for item_id in (1, 2, 3, 500):
            client.get(f"/items/{item_id}")
        queued = sum(len(recorder._queued) for recorder in requestmetrics._RECORDERS)
        assert queued >= 4  # not written yet: the thread or a scrape adds them up
        after = scrape(app)
    finally:
        stop_recording_in_background()
    ok = value(after, "http_requests_total", **route, status="200")
    assert ok - value(before, "http_requests_total", **route, status="200") == 3
    missing = value(after, "http_requests_total", **route, status="404")
    assert missing - value(before, "http_requests_total", **route, status="404") == 1
    latency = "http_request_duration_seconds_count"
    assert value(after, latency, **route) - value(before, latency, **route) == 4
    assert value(after, "http_requests_in_flight", service="demo") == 1  # the scrape


def test_the_background_thread_flushes_without_a_scrape(make_app: AppFactory) -> None:
    app = make_app()
    record_in_background()
    try:
        app.test_client().get("/hello")
        deadline = time.monotonic() + 5
        while any(recorder._queued for recorder in requestmetrics._RECORDERS):
            assert time.monotonic() < deadline, "the queued figures were never flushed"
            time.sleep(requestmetrics.FLUSH_INTERVAL / 5)
    finally:
        stop_recording_in_background()
