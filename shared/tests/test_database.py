from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

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
