"""Fixtures: an app per test on a clean database, signing keys, and authenticated clients.

Set ``TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/api_test``) to run the
suite against PostgreSQL instead of a SQLite file; every test starts on empty tables and drops
them afterwards, so the database is left clean.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import ApiClient
from flask import Flask

from api_service import create_app
from api_service.extensions import db
from servicekit.testing import SigningKey


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    """The key 'auth' signs test tokens with; the app trusts its public half."""
    return SigningKey()


def make_app(tmp_path: Path, signing_key: SigningKey, **overrides: Any) -> Flask:
    """A testing app whose instance folder is ``tmp_path``."""
    config: dict[str, Any] = {"AUTH_JWKS": signing_key.jwks(), **overrides}
    database_url = os.environ.get("TEST_DATABASE_URL")
    environ = {"APP_ENV": "testing", "API_INSTANCE_PATH": str(tmp_path)}
    if database_url:
        environ["API_DATABASE_URL"] = database_url
    return create_app(config, environ=environ)


@pytest.fixture
def app(tmp_path: Path, signing_key: SigningKey) -> Iterator[Flask]:
    """An app on empty tables."""
    app = make_app(tmp_path, signing_key)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def alice(app: Flask, signing_key: SigningKey) -> ApiClient:
    """User 1, a reader."""
    return ApiClient(app.test_client(), signing_key.mint(sub="1", name="alice"))


@pytest.fixture
def bob(app: Flask, signing_key: SigningKey) -> ApiClient:
    """User 2, a reader."""
    return ApiClient(app.test_client(), signing_key.mint(sub="2", name="bob"))


@pytest.fixture
def admin(app: Flask, signing_key: SigningKey) -> ApiClient:
    """User 3, an admin."""
    return ApiClient(
        app.test_client(), signing_key.mint(sub="3", name="root", roles=["reader", "admin"])
    )
