"""Fixtures: a small Flask app built the way each service builds its own, and the identity
tokens, verifier and revocation stores the identity suites share."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from servicekit import Settings, init_service
from servicekit.database import init_database
from servicekit.revocation import MemoryRevocationStore, RevocationUnknownError
from servicekit.testing import TestTokenIssuer
from servicekit.verifier import TokenVerifier
from tests.support import AppFactory, demo_app


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build a throwaway service with a few views that exercise the shared hooks."""
    return functools.partial(demo_app, tmp_path)


@pytest.fixture
def database_app(tmp_path: Path) -> Iterator[tuple[Flask, SQLAlchemy]]:
    """A service with a database wired by init_database: SQLite, or TEST_DATABASE_URL if set."""
    app = Flask("dbdemo", instance_path=str(tmp_path / "instance"))
    environ = {"APP_ENV": "testing"}
    if os.environ.get("TEST_DATABASE_URL"):
        environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    settings = Settings.from_env("dbdemo", app.instance_path, environ)
    init_service(app, settings, error_style="problem")
    db = SQLAlchemy()
    init_database(app, db, Migrate(), tmp_path / "migrations")
    yield app, db
    with app.app_context():
        db.engine.dispose()  # pooled connections must not outlive the test


@pytest.fixture
def key() -> TestTokenIssuer:
    """Mints the tokens the ``verifier`` fixture (and apps given its JWKS) accept."""
    return TestTokenIssuer("key-1")


@pytest.fixture
def store() -> MemoryRevocationStore:
    return MemoryRevocationStore()


@pytest.fixture
def verifier(key: TestTokenIssuer, store: MemoryRevocationStore) -> TokenVerifier:
    return TokenVerifier(
        issuer=key.issuer, audience=key.audience, revocations=store, jwks=key.jwks(), leeway=0
    )


class DownStore(MemoryRevocationStore):
    """A revocation store that cannot answer (Redis stalled, or restarted without its marks)."""

    def lookup(self, jti: str, user_id: str) -> tuple[bool, float | None]:
        raise RevocationUnknownError("redis down")


@pytest.fixture
def down_store() -> MemoryRevocationStore:
    return DownStore()
