from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from servicekit import Settings, init_service
from servicekit.database import engine_options, init_database
from servicekit.testing import count_queries


def test_engine_options_per_database() -> None:
    assert engine_options("postgresql+psycopg://u@h/db")["pool_pre_ping"] is True
    assert "pool_pre_ping" not in engine_options("sqlite:///x.db")


def test_sqlite_gets_foreign_keys_and_wal(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = database_app
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_postgresql_pings_pooled_connections(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = database_app
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only (nox -s postgres)")
        assert db.engine.pool._pre_ping  # type: ignore[attr-defined]
        assert db.engine.dialect.driver == "psycopg"


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
