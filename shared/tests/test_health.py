from __future__ import annotations

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from servicekit.health import add_readiness_check
from tests.support import AppFactory


def test_healthz_answers_without_io(make_app: AppFactory) -> None:
    response = make_app().test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "service": "demo"}


def test_readyz_ok_with_passing_checks(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, _ = database_app
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok"}


def test_readyz_503_names_the_failing_check(database_app: tuple[Flask, SQLAlchemy]) -> None:
    app, db = database_app
    with app.app_context():
        db.engine.dispose()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {}

    def broken() -> None:
        raise ConnectionError("redis down")

    add_readiness_check(app, "redis", broken)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"] == {"database": "ok", "redis": "failed"}


def test_readyz_503_when_the_database_is_unreachable(make_app: AppFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flask_migrate import Migrate

    from servicekit.database import init_database

    app = make_app()
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"connect_timeout": 1}}
    init_database(app, SQLAlchemy(), Migrate(), tmp_path / "migrations")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "failed"}
