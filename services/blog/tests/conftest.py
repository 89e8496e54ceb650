"""Fixtures: an app per test on a fresh database, and test clients signed in with minted tokens.

Set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/blog_test) to run the suite on
PostgreSQL; the tables are created before and dropped after every test, so the database is left
clean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from blog_service import create_app
from blog_service.extensions import db
from servicekit.testing import TestTokenIssuer

_CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="session")
def token_issuer() -> TestTokenIssuer:
    """Stands in for the auth service's key: tokens it mints are trusted by the app."""
    return TestTokenIssuer()


def make_app(tmp_path: Path, token_issuer: TestTokenIssuer, **overrides: object) -> Flask:
    """A testing app whose instance folder is ``tmp_path``."""
    environ = {"APP_ENV": "testing", "BLOG_INSTANCE_PATH": str(tmp_path)}
    database_url = os.environ.get("TEST_DATABASE_URL")
    if database_url:
        environ["BLOG_DATABASE_URL"] = database_url
    config = {
        "AUTH_JWKS": token_issuer.jwks(),
        **overrides,
    }
    return create_app(config, environ=environ)


@pytest.fixture
def app(tmp_path: Path, token_issuer: TestTokenIssuer) -> Iterator[Flask]:
    """The blog on an empty database."""
    app = make_app(tmp_path, token_issuer)
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as connection:  # left by the migrations test
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An anonymous visitor."""
    return app.test_client()


class Clients:
    """Makes test clients signed in as someone, the way auth's identity cookie would."""

    def __init__(self, app: Flask, key: TestTokenIssuer) -> None:
        self.app = app
        self.key = key

    def __call__(self, sub: str, name: str, *roles: str) -> FlaskClient:
        client = self.app.test_client()
        token = self.key.mint(sub=sub, name=name, roles=roles or ("reader",))
        client.set_cookie("identity", token)
        return client


@pytest.fixture
def sign_in(app: Flask, token_issuer: TestTokenIssuer) -> Clients:
    """``sign_in("7", "bob", "author")`` returns a client signed in as bob."""
    return Clients(app, token_issuer)


@pytest.fixture
def alice(sign_in: Clients) -> FlaskClient:
    """An author."""
    return sign_in("1", "alice", "reader", "author")


@pytest.fixture
def bob(sign_in: Clients) -> FlaskClient:
    """Another author."""
    return sign_in("2", "bob", "reader", "author")


@pytest.fixture
def carol(sign_in: Clients) -> FlaskClient:
    """A reader: may comment, may not write posts."""
    return sign_in("3", "carol", "reader")


@pytest.fixture
def admin(sign_in: Clients) -> FlaskClient:
    """An administrator."""
    return sign_in("9", "root", "admin")


def csrf_token(client: FlaskClient, url: str) -> str:
    """The CSRF token in the form on ``url``, as a browser would get it."""
    response = client.get(url)
    match = _CSRF_FIELD.search(response.get_data(as_text=True))
    assert match is not None, f"no CSRF token on {url} ({response.status_code})"
    return match.group(1)
