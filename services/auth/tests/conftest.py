"""Fixtures: a fresh app and database per test (SQLite, or TEST_DATABASE_URL when set)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import create_app
from auth_service.extensions import db
from auth_service.models import User
from servicekit.revocation import revocation_store_from_uri
from servicekit.verifier import TokenVerifier
from tests.factories import PASSWORD, make_user

#: argon2 parameters that cost microseconds; the app accepts them only with APP_ENV=testing.
CHEAP_HASHING = {"ARGON2_MEMORY_COST": 64, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}

CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def make_app(
    tmp_path: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Flask:
    """An auth app in testing mode with its instance folder under ``tmp_path``."""
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    env = {
        "APP_ENV": "testing",
        "AUTH_INSTANCE_PATH": str(tmp_path / "instance"),
        "AUTH_DATABASE_URL": database_url,
        **(environ or {}),
    }
    # Each app gets its own in-process revocation store and rate-limit counters.
    config = {**CHEAP_HASHING, "REVOCATION_STORE_URI": f"memory://{uuid.uuid4().hex}"}
    return create_app({**config, **(overrides or {})}, environ=env)


AppFactory = Callable[..., Flask]


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


def csrf_token(client: FlaskClient) -> str:
    """A CSRF token for this client's session, read from a page that renders one."""
    page = client.get("/register", follow_redirects=True).get_data(as_text=True)
    match = CSRF_PATTERN.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def login(client: FlaskClient, login: str = "alice", password: str = PASSWORD, **extra: Any) -> Any:
    """Post the login form with a valid CSRF token; returns the response (not followed)."""
    data = {"username": login, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data)


def post_form(client: FlaskClient, url: str, **data: Any) -> Any:
    """Post a form with a valid CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


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


IdentityCookie = Callable[[FlaskClient], str | None]


def identity_cookie(client: FlaskClient) -> str | None:
    """The identity token the browser holds, if any."""
    cookie = client.get_cookie("identity")
    return cookie.value if cookie else None
