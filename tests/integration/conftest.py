"""The three services as one system, in this process: the dispatcher of the embedded runner.

Each test gets the apps of ``system.embedded`` (the same ``system_environ``, ``create_apps``,
``dispatcher`` and ``upgrade_databases`` as ``nox -s dev``) in testing mode, with fresh instance
folders, a revocation store of its own, freshly migrated databases, and a :class:`Browser`: a
Werkzeug test client on the dispatcher that keeps cookies for the whole origin, the way a real
browser does behind the gateway.

Databases: a SQLite file per service in the test's instance folders, or, when
``TEST_DATABASE_URL`` names a PostgreSQL database (``nox -s postgres``), one database per service
derived from it (``<name>_auth``, ``<name>_blog``, ``<name>_api``), created for the test session
and dropped at its end; every test starts on an empty schema migrated from scratch.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from system.embedded import (
    create_apps,
    dispatcher,
    installed_mounts,
    system_environ,
    upgrade_databases,
)
from tests.integration.harness import CHEAP_HASHING, Browser, System

SERVICES = [mount.name for mount in installed_mounts()]
if set(SERVICES) != {"auth", "blog", "api"}:  # pragma: no cover - a broken installation
    raise pytest.UsageError(f"the cross-service tests need the three services, found {SERVICES}")


# --- databases -------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _postgres(url: str, *statements: str) -> None:
    import psycopg  # only needed on PostgreSQL

    # psycopg wants a libpq URL, not SQLAlchemy's "postgresql+psycopg://".
    libpq_url = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
    with psycopg.connect(libpq_url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


@pytest.fixture(scope="session")
def database_urls() -> Iterator[dict[str, str]]:
    """Per service: a PostgreSQL database URL (TEST_DATABASE_URL set), or nothing (SQLite)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield {}
        return
    stem = urlsplit(base).path.strip("/") or "system"
    names = {service: f"{stem}_{service}" for service in SERVICES}
    drops = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names.values()]
    _postgres(base, *drops, *(f'CREATE DATABASE "{name}"' for name in names.values()))
    try:
        yield {service: _with_database(base, name) for service, name in names.items()}
    finally:
        _postgres(base, *drops)


def _database(app: Flask) -> SQLAlchemy:
    database: SQLAlchemy = app.extensions["sqlalchemy"]
    return database


def _empty(app: Flask) -> None:
    """Leave a PostgreSQL database as CREATE DATABASE made it, for the next test."""
    with app.app_context(), _database(app).engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


# --- the system ------------------------------------------------------------------------------


@pytest.fixture
def system(tmp_path: Path, database_urls: dict[str, str]) -> Iterator[System]:
    """The three apps, mounted as in ``nox -s dev``, on freshly migrated empty databases."""
    base = {
        "APP_ENV": "testing",
        # a store of its own: revocations of one test must not leak into the next
        "REVOCATION_STORE_URI": f"memory://{uuid.uuid4().hex}",
        **{f"{service.upper()}_DATABASE_URL": url for service, url in database_urls.items()},
    }
    environ = system_environ(tmp_path / "instance", base)
    apps = create_apps(environ, CHEAP_HASHING)
    by_name = {mount.name: apps[mount.prefix] for mount in installed_mounts()}
    try:
        upgrade_databases(apps)
        yield System(apps=by_name, wsgi=dispatcher(apps), environ=environ)
    finally:
        for app in by_name.values():
            with app.app_context():
                _database(app).session.remove()
            if database_urls:
                _empty(app)
            with app.app_context():
                _database(app).engine.dispose()


@pytest.fixture
def alice(system: System) -> Browser:
    """A browser in which alice (a reader) registered and is signed in."""
    browser = system.browser()
    response = browser.register("alice")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert browser.identity
    return browser
