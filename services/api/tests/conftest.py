"""Fixtures: an app per test on a clean database, signing keys, and authenticated clients.

Set ``TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/api_test``) to run the
suite against PostgreSQL instead of a SQLite file; every test starts on empty tables and drops
them afterwards, so the database is left clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api_service.extensions import db
from servicekit.redisclient import redis_client
from servicekit.revocation import RedisRevocationStore
from servicekit.testing import PrivateRedis, TestTokenIssuer, redis_server_binary
from tests.support import ApiClient, make_app


@pytest.fixture(scope="session")
def token_issuer() -> TestTokenIssuer:
    """The key 'auth' signs test tokens with; the app trusts its public half."""
    return TestTokenIssuer()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "config(**overrides): configuration the test's app is created with"
    )
    config.addinivalue_line(
        "markers", "redis: the app keeps its rate limits and revocations in a private Redis"
    )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis, made whole as auth does (it holds the epoch)."""
    if redis_server_binary() is None:
        pytest.skip("needs redis-server")
    with PrivateRedis.started(tmp_path / "redis") as server:
        RedisRevocationStore(redis_client(server.url)).republish({})
        yield server


@pytest.fixture
def app(
    request: pytest.FixtureRequest, tmp_path: Path, token_issuer: TestTokenIssuer
) -> Iterator[Flask]:
    """An app on empty tables, configured by the test's ``config`` marker if any; with the
    ``redis`` marker, its rate limits and revocations live in ``redis_server``."""
    marker = request.node.get_closest_marker("config")
    overrides = dict(marker.kwargs if marker else {})
    if request.node.get_closest_marker("redis"):
        url = request.getfixturevalue("redis_server").url
        overrides |= {"REVOCATION_STORE_URI": url, "RATELIMIT_STORAGE_URI": url}
    app = make_app(tmp_path, token_issuer, **overrides)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def alice(app: Flask, token_issuer: TestTokenIssuer) -> ApiClient:
    """User 1, a reader."""
    return ApiClient(app.test_client(), token_issuer.mint(sub="1", name="alice"))


@pytest.fixture
def bob(app: Flask, token_issuer: TestTokenIssuer) -> ApiClient:
    """User 2, a reader."""
    return ApiClient(app.test_client(), token_issuer.mint(sub="2", name="bob"))


@pytest.fixture
def admin(app: Flask, token_issuer: TestTokenIssuer) -> ApiClient:
    """User 3, an admin."""
    return ApiClient(
        app.test_client(), token_issuer.mint(sub="3", name="root", roles=["reader", "admin"])
    )
