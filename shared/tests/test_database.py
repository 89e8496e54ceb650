from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import NullPool

from servicekit import Settings, init_service
from servicekit.database import PING_IDLE_SECONDS, engine_options, init_database
from servicekit.testing import count_queries


def test_engine_options_per_database() -> None:
    # No ping at every checkout (a round trip per request): ping_stale_connections instead.
    assert "pool_pre_ping" not in engine_options("postgresql+psycopg://u@h/db")
    assert engine_options("postgresql+psycopg://u@h/db")["pool_recycle"] == 1800
    assert "pool_pre_ping" not in engine_options("sqlite:///x.db")


def test_sqlite_gets_foreign_keys_and_wal(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = database_app
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def postgresql_engine(app: Flask, db: SQLAlchemy) -> Engine:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (nox -s postgres)")
        assert db.engine.dialect.driver == "psycopg"
        return db.engine


def backend_of(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def pings_of(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The pings the pool sends from now on."""
    pings: list[object] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_in_use_is_not_pinged_at_every_checkout(
    database_app: tuple[Flask, SQLAlchemy], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = postgresql_engine(*database_app)
    first = backend_of(engine)
    pings = pings_of(engine, monkeypatch)
    assert [backend_of(engine) for _ in range(3)] == [first] * 3
    assert pings == []
    # One that sat unused past PING_IDLE_SECONDS is pinged first.
    later = time.monotonic() + PING_IDLE_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert backend_of(engine) == first
    assert len(pings) == 1


def test_a_connection_the_server_ended_is_replaced_before_a_request_uses_it(
    database_app: tuple[Flask, SQLAlchemy], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a restart does to every pooled connection: the server ends its backend (with a
    # FATAL message to the client) while it sits in the pool, used a moment ago.
    app, db = database_app
    engine = postgresql_engine(app, db)
    ended = backend_of(engine)
    pings = pings_of(engine, monkeypatch)
    # Autocommit: inside one transaction pg_stat_activity is a snapshot taken at its first
    # read, and the loop below would watch the backend "still there" until its deadline.
    admin = create_engine(engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended})
        still_there = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        deadline = time.monotonic() + 10
        while connection.execute(still_there, {"pid": ended}).scalar_one():
            assert time.monotonic() < deadline
            time.sleep(0.05)

    @app.get("/reads")
    def reads() -> str:
        return str(db.session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    response = app.test_client().get("/reads")
    assert response.status_code == 200  # not the 503 of a dead connection
    assert int(response.text) != ended
    assert len(pings) == 1


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    app = Flask("folders", instance_path=str(tmp_path / "instance"))
    url = f"sqlite:///{tmp_path / 'deep' / 'nested' / 'x.sqlite3'}"
    settings = Settings.from_env(
        "folders", app.instance_path, {"APP_ENV": "testing", "DATABASE_URL": url}
    )
    init_service(app, settings, error_style="problem")
    init_database(app, SQLAlchemy(), Migrate(), tmp_path / "migrations")
    assert (tmp_path / "deep" / "nested").is_dir()


def test_count_queries(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = database_app
    with app.app_context():
        with count_queries(db) as statements, db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            connection.execute(text("SELECT 2"))
        assert statements == ["SELECT 1", "SELECT 2"]
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 3"))
        assert len(statements) == 2


def test_utc_datetime_stores_utc_and_reads_back_an_aware_time(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert, select

    from servicekit.database import UTCDateTime

    table = Table(
        "moments",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime, nullable=True),
    )
    engine = create_engine(f"sqlite:///{tmp_path / 'moments.db'}")
    table.metadata.create_all(engine)
    paris = timezone(timedelta(hours=1))
    try:
        with engine.begin() as connection:
            connection.execute(insert(table), [{"at": datetime(2026, 1, 1, 13, 0, tzinfo=paris)}])
            connection.execute(insert(table), [{"at": None}])
            stored = connection.scalar(text("SELECT at FROM moments WHERE id = 1"))
            read = connection.scalars(select(table.c.at).order_by(table.c.id)).all()
    finally:
        engine.dispose()  # Python 3.13 warns about a SQLite connection left to the collector
    assert str(stored).startswith("2026-01-01 12:00:00")  # SQLite keeps the UTC time, no zone
    assert read == [datetime(2026, 1, 1, 12, 0, tzinfo=UTC), None]
    assert read[0] is not None
    assert read[0].tzinfo is UTC


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("SELECT 1", {"email": "a@example.com"}, Exception("connection refused")),
        PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    ],
    ids=["unreachable", "pool exhausted"],
)
def test_a_database_that_cannot_answer_is_a_503_with_retry_after(
    database_app: tuple[Flask, SQLAlchemy], failure: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    app, _db = database_app

    @app.get("/reads")
    def reads() -> str:
        raise failure

    response = app.test_client().get("/reads")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.mimetype == "application/problem+json"
    assert "try again" in response.get_json()["detail"]
    assert "a@example.com" not in caplog.text  # the statement's parameters are not logged
