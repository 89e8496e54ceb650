"""Fixtures: a fresh app and database per test (SQLite, or TEST_DATABASE_URL when set)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.extensions import db
from auth_service.models import User
from auth_service.two_factor import codes, pending
from servicekit.revocation import revocation_store_from_uri
from servicekit.verifier import TokenVerifier
from tests.support import (
    AppFactory,
    Clock,
    make_app,
    make_user,
)


@pytest.fixture
def app_factory(tmp_path: Path) -> Iterator[AppFactory]:
    """Make apps (same database, tables created); drops the tables and closes every
    connection when the test ends, so PostgreSQL is left clean for the next test."""
    apps: list[Flask] = []

    def factory(
        overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Flask:
        application = make_app(tmp_path, overrides, environ)
        with application.app_context():
            if not apps:
                db.drop_all()  # an interrupted PostgreSQL run may have left tables behind
            db.create_all()
        apps.append(application)
        return application

    yield factory
    for number, application in enumerate(apps):
        with application.app_context():
            db.session.remove()
            if number == 0:
                db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(app_factory: AppFactory) -> Flask:
    """A fresh app with empty tables."""
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser: keeps cookies between requests."""
    return app.test_client()


@pytest.fixture
def user(app: Flask) -> User:
    """alice, a reader, with password PASSWORD."""
    return make_user(app, "alice")


@pytest.fixture
def admin(app: Flask) -> User:
    """root, an admin, with password PASSWORD."""
    return make_user(app, "root", roles=("reader", "author", "admin"))


@pytest.fixture
def verifier(app: Flask, client: FlaskClient) -> TokenVerifier:
    """The shared library's verifier, knowing only auth's public JWKS (as blog and api do)."""
    jwks = client.get("/.well-known/jwks.json").get_json()
    return TokenVerifier(
        issuer=app.config["AUTH_ISSUER"],
        audience=app.config["AUTH_AUDIENCE"],
        revocations=revocation_store_from_uri(app.config["REVOCATION_STORE_URI"]),
        jwks=jwks,
    )


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A frozen clock for codes and pending sign-ins: no test depends on where in a 30-second
    window it happens to run."""
    fake = Clock()
    monkeypatch.setattr(codes, "time", fake)
    monkeypatch.setattr(pending, "time", fake)
    return fake
