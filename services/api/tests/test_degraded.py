"""The API with its Redis frozen (SIGSTOP) or gone: bounded answers, never an unchecked 200.

A bearer token whose revocation cannot be checked gets a 503 problem+json with Retry-After
(not a 401: the token may well be fine, and a client must not throw it away); rate limits keep
counting per process. docs/architecture.md, "When Redis is down".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from api_service.extensions import db
from servicekit.redisclient import redis_client
from servicekit.revocation import RedisRevocationStore
from servicekit.testing import PrivateRedis, TestTokenIssuer, redis_server_binary
from tests.support import ApiClient, make_app

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason="needs redis-server")

ANSWERED_WITHIN = 2.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis, made whole as auth does (it holds the epoch)."""
    with PrivateRedis.started(tmp_path / "redis") as server:
        RedisRevocationStore(redis_client(server.url)).republish({})
        yield server


@pytest.fixture
def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    token_issuer: TestTokenIssuer,
    redis_server: PrivateRedis,
) -> Iterator[Flask]:
    """The api with its rate limits and revocations in the private Redis (and the test's
    ``config`` marker, if any)."""
    urls = {"REVOCATION_STORE_URI": redis_server.url, "RATELIMIT_STORAGE_URI": redis_server.url}
    marker = request.node.get_closest_marker("config")
    app = make_app(tmp_path, token_issuer, **urls, **(marker.kwargs if marker else {}))
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_a_token_that_cannot_be_checked_gets_a_retryable_503(
    alice: ApiClient, redis_server: PrivateRedis
) -> None:
    assert alice.get("/v1/projects").status_code == 200
    with redis_server.frozen():
        for method, body in (("GET", None), ("POST", {"name": "Launch"})):
            started = time.monotonic()
            response = alice.request(method, "/v1/projects", json=body)
            assert time.monotonic() - started < ANSWERED_WITHIN
            assert response.status_code == 503
            assert response.mimetype == "application/problem+json"
            assert int(response.headers["Retry-After"]) >= 2


def test_a_redis_restarted_empty_cannot_vouch_for_a_token(
    alice: ApiClient, redis_server: PrivateRedis
) -> None:
    assert alice.get("/v1/projects").status_code == 200
    redis_server.restart_empty()  # no epoch until auth republishes the marks
    assert alice.get("/v1/projects").status_code == 503
    RedisRevocationStore(redis_client(redis_server.url)).republish({})
    deadline = time.monotonic() + 5
    while (status := alice.get("/v1/projects").status_code) == 503:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == 200


@pytest.mark.config(API_RATE_LIMIT="2 per minute")
def test_the_budget_is_shared_through_redis(
    tmp_path: Path, token_issuer: TestTokenIssuer, redis_server: PrivateRedis, alice: ApiClient
) -> None:
    # Two apps on one Redis are two workers: a caller's budget is one, whichever answers.
    urls = {"REVOCATION_STORE_URI": redis_server.url, "RATELIMIT_STORAGE_URI": redis_server.url}
    other = make_app(tmp_path / "other", token_issuer, API_RATE_LIMIT="2 per minute", **urls)
    other_alice = ApiClient(other.test_client(), alice.token)
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "1"
    assert other_alice.get("/v1/projects").headers["RateLimit-Remaining"] == "0"
    with other.app_context():  # its pooled connection must not outlive the test
        db.session.remove()
        db.engine.dispose()
    refused = alice.get("/v1/projects")
    assert refused.status_code == 429
    assert int(refused.headers["RateLimit-Reset"]) > time.time()


@pytest.mark.config(API_RATE_LIMIT="2 per minute")
def test_while_redis_is_frozen_the_budget_is_counted_in_the_process(
    alice: ApiClient, redis_server: PrivateRedis
) -> None:
    with redis_server.frozen():
        answers = [alice.get("/v1/projects").status_code for _ in range(3)]
    # The token cannot be checked (503), but the requests were counted all the same.
    assert answers == [503, 503, 429]
