"""The API with its Redis frozen (SIGSTOP) or gone: bounded answers, never an unchecked 200.

A bearer token whose revocation cannot be checked gets a 503 problem+json with Retry-After
(not a 401: the token may well be fine, and a client must not throw it away); rate limits keep
counting per process. docs/architecture.md, "When Redis is down".
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api_service.extensions import db
from servicekit.redisclient import redis_client
from servicekit.revocation import RedisRevocationStore
from servicekit.testing import PrivateRedis, TestTokenIssuer
from tests.support import ApiClient, make_app

pytestmark = pytest.mark.redis

ANSWERED_WITHIN = 2.0


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
