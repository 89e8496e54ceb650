"""Every dependency is bounded in time and degrades as docs/architecture.md says.

Redis at a closed port (refused at once) or frozen (SIGSTOP: accepted, never answered) behind
the settings every service uses; PostgreSQL's timeouts as engine options (and, under
`nox -s postgres`, a statement that runs too long cancelled by the server).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, jsonify
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from servicekit import Settings
from servicekit.database import engine_options
from servicekit.testing import PrivateRedis, redis_server_binary
from tests.support import AppFactory

#: "Answered, not hung": a stalled Redis costs a request its 250 ms timeout a few times at most.
ANSWERED_WITHIN = 2.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    if redis_server_binary() is None:
        pytest.skip("needs redis-server")
    with PrivateRedis.started(tmp_path) as server:
        yield server


def limited_app(make_app: AppFactory, redis_url: str) -> Flask:
    """A service with one route limited to 2 per minute, its limits in ``redis_url``."""
    app = make_app(environ={"RATELIMIT_STORAGE_URI": redis_url})
    limiter = Limiter(key_func=get_remote_address)
    limiter.init_app(app)

    @app.post("/try")
    @limiter.limit("2 per minute")
    def attempt() -> object:
        return jsonify(ok=True)

    return app


def test_redis_options_are_bounded_and_never_retried(tmp_path: Path) -> None:
    environ = {"APP_ENV": "testing", "RATELIMIT_STORAGE_URI": "redis://r:6379/0"}
    config = Settings.from_env("demo", tmp_path, environ).flask_config()
    options = config["RATELIMIT_STORAGE_OPTIONS"]
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 0.25
    assert options["retry"].get_retries() == 1  # a broken pooled connection, never a timeout
    faster = Settings.from_env("demo", tmp_path, {**environ, "REDIS_TIMEOUT_MS": "100"})
    assert faster.flask_config()["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] == 0.1
    # Set for memory:// too (ignored there), so a URI overridden later is bounded as well.
    plain = Settings.from_env("demo", tmp_path, {"APP_ENV": "testing"}).flask_config()
    assert plain["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"] == 0.25


def test_rate_limits_fall_back_to_the_process_when_redis_is_down(
    make_app: AppFactory, free_tcp_port: int
) -> None:
    app = limited_app(make_app, f"redis://127.0.0.1:{free_tcp_port}/0")
    client = app.test_client()
    assert app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True
    assert app.config.get("RATELIMIT_SWALLOW_ERRORS", False) is False  # never silently unlimited
    assert [client.post("/try").status_code for _ in range(3)] == [200, 200, 429]


def test_rate_limits_keep_limiting_when_redis_freezes(
    make_app: AppFactory, redis_server: PrivateRedis
) -> None:
    app = limited_app(make_app, redis_server.url)
    client = app.test_client()
    assert client.post("/try").status_code == 200  # counted in Redis
    with redis_server.frozen():
        started = time.monotonic()
        statuses = [client.post("/try").status_code for _ in range(3)]
        assert time.monotonic() - started < ANSWERED_WITHIN
    assert statuses == [200, 200, 429]  # the per-process fallback, a fresh budget


def test_readyz_reports_redis_down_as_degraded_not_unready(
    make_app: AppFactory, free_tcp_port: int
) -> None:
    url = f"redis://127.0.0.1:{free_tcp_port}/0"
    app = make_app(environ={"RATELIMIT_STORAGE_URI": url, "REVOCATION_STORE_URI": url})
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["checks"] == {"redis": "failed"}


def test_readyz_answers_in_bounded_time_when_redis_is_frozen(
    make_app: AppFactory, redis_server: PrivateRedis
) -> None:
    app = make_app(environ={"REVOCATION_STORE_URI": redis_server.url})
    client = app.test_client()
    assert client.get("/readyz").get_json()["checks"] == {"redis": "ok"}
    with redis_server.frozen():
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < ANSWERED_WITHIN
    assert response.get_json() == {
        "status": "degraded",
        "service": "demo",
        "checks": {"redis": "failed"},
    }


def test_postgresql_gets_connect_pool_and_statement_timeouts(tmp_path: Path) -> None:
    options = engine_options(
        "postgresql+psycopg://u@h/db", connect_timeout=4, pool_timeout=2, statement_timeout_ms=750
    )
    assert options["pool_timeout"] == 2
    assert options["connect_args"] == {
        "connect_timeout": 4,
        "options": "-c statement_timeout=750",
    }
    environ = {
        "APP_ENV": "testing",
        "DATABASE_CONNECT_TIMEOUT": "5",
        "DATABASE_POOL_TIMEOUT": "6",
        "DATABASE_STATEMENT_TIMEOUT_MS": "7000",
    }
    config = Settings.from_env("demo", tmp_path, environ).flask_config()
    assert (
        config["DATABASE_CONNECT_TIMEOUT"],
        config["DATABASE_POOL_TIMEOUT"],
        config["DATABASE_STATEMENT_TIMEOUT_MS"],
    ) == (5, 6, 7000)


def test_a_statement_running_too_long_is_cancelled(
    database_app: tuple[Flask, SQLAlchemy],
) -> None:
    app, db = database_app
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (nox -s postgres)")
        with db.engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "5s"
            connection.execute(text("SET statement_timeout = 100"))
            with pytest.raises(OperationalError, match="statement timeout"):
                connection.execute(text("SELECT pg_sleep(5)"))
