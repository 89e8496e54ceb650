"""The blog with its Redis frozen (SIGSTOP): a signed-in reader still reads, nobody writes.

Revocations cannot be checked while Redis stalls, so the identity cookie is trusted for GET
pages only (docs/architecture.md, "When Redis is down"); a comment is refused with a 503, and
nothing is stored. Each answer comes within a bounded time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from blog_service.extensions import db
from servicekit.testing import PrivateRedis, TestTokenIssuer, redis_server_binary
from tests.support import comment_count, csrf_token, make_app, make_post

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason="needs redis-server")

ANSWERED_WITHIN = 2.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with PrivateRedis.started(tmp_path / "redis") as server:
        yield server


@pytest.fixture
def app(
    tmp_path: Path, token_issuer: TestTokenIssuer, redis_server: PrivateRedis
) -> Iterator[Flask]:
    """The blog with rate limits and revocations in the private Redis (made whole by auth)."""
    from servicekit.redisclient import redis_client
    from servicekit.revocation import RedisRevocationStore

    RedisRevocationStore(redis_client(redis_server.url)).republish({})  # what auth does
    app = make_app(
        tmp_path,
        token_issuer,
        REVOCATION_STORE_URI=redis_server.url,
        RATELIMIT_STORAGE_URI=redis_server.url,
    )
    with app.app_context():
        db.create_all()
        make_post("Open")
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_a_signed_in_reader_still_reads_when_redis_freezes(
    carol: FlaskClient, redis_server: PrivateRedis
) -> None:
    assert "carol" in carol.get("/posts/open").get_data(as_text=True)
    with redis_server.frozen():
        started = time.monotonic()
        page = carol.get("/posts/open")
        assert time.monotonic() - started < ANSWERED_WITHIN
    assert page.status_code == 200
    assert "carol" in page.get_data(as_text=True)  # shown signed in, not signed out


def test_nobody_writes_with_an_identity_that_cannot_be_checked(
    app: Flask, carol: FlaskClient, redis_server: PrivateRedis
) -> None:
    token = csrf_token(carol, "/posts/open")
    with redis_server.frozen():
        started = time.monotonic()
        response = carol.post("/posts/open/comments", data={"csrf_token": token, "body": "hi"})
        assert time.monotonic() - started < ANSWERED_WITHIN
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "cannot confirm your sign-in" in response.get_data(as_text=True)
    assert comment_count(app) == 0
    # Redis back: after the verifier's pause (1 s without asking it), the comment goes through.
    deadline = time.monotonic() + 5
    while response.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
        response = carol.post("/posts/open/comments", data={"csrf_token": token, "body": "hi"})
    assert response.status_code == 302
    assert comment_count(app) == 1
