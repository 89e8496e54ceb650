"""Fixtures: an app per test on a fresh database, and test clients signed in with minted tokens.

Set TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/blog_test) to run the suite on
PostgreSQL; the tables are created before and dropped after every test, so the database is left
clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from blog_service.extensions import db
from servicekit.testing import TestTokenIssuer
from tests.support import (
    Clients,
    make_app,
)


@pytest.fixture(scope="session")
def token_issuer() -> TestTokenIssuer:
    """Stands in for the auth service's key: tokens it mints are trusted by the app."""
    return TestTokenIssuer()


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
