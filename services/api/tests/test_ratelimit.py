"""The rate limit's round trip: one per authenticated request, revocation asked in it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.connection

from api_service.extensions import db
from servicekit.redisclient import redis_client
from servicekit.revocation import RedisRevocationStore
from servicekit.testing import PrivateRedis, TestTokenIssuer
from tests.support import ApiClient, make_app

pytestmark = pytest.mark.redis


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every write of commands to a Redis socket: a command alone, or a whole pipeline."""
    sent: list[Any] = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(self: redis.connection.AbstractConnection, command: Any, **options: Any) -> None:
        sent.append(command)
        send(self, command, **options)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    return sent


def test_an_authenticated_request_costs_one_redis_round_trip(
    alice: ApiClient, round_trips: list[Any]
) -> None:
    assert alice.get("/v1/projects").status_code == 200  # loads the script, fills the pool
    round_trips.clear()
    response = alice.get("/v1/projects")
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"].isdigit()
    assert len(round_trips) == 1


def test_a_token_revoked_in_redis_is_refused_by_that_round_trip(
    alice: ApiClient, redis_server: PrivateRedis
) -> None:
    assert alice.get("/v1/projects").status_code == 200
    RedisRevocationStore(redis_client(redis_server.url)).revoke_user_tokens("1")
    refused = alice.get("/v1/projects")
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"


@pytest.mark.config(API_RATE_LIMIT="3 per minute")
def test_a_revoked_token_spends_its_address_budget_not_its_users(
    alice: ApiClient, token_issuer: TestTokenIssuer, redis_server: PrivateRedis
) -> None:
    stolen = ApiClient(alice.client, token_issuer.mint(sub="1", name="alice", jti="stolen"))
    RedisRevocationStore(redis_client(redis_server.url)).revoke_token("stolen", time.time() + 300)
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "2"

    refused = [stolen.get("/v1/projects").status_code for _ in range(4)]

    assert refused == [401, 401, 401, 429]  # the address's three, then no more
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "1"


@pytest.mark.config(API_RATE_LIMIT="5 per minute")
def test_a_redis_that_forgot_the_script_still_counts(
    alice: ApiClient, redis_server: PrivateRedis
) -> None:
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "4"
    redis_client(redis_server.url).script_flush()  # as a restart does
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "3"


def test_without_a_token_the_address_is_counted_and_redis_asked_once(
    alice: ApiClient, round_trips: list[Any]
) -> None:
    anonymous = ApiClient(alice.client, token="")
    assert anonymous.get("/v1/projects").status_code == 401
    round_trips.clear()
    assert anonymous.get("/v1/projects").status_code == 401
    assert len(round_trips) == 1


def test_with_revocations_in_another_redis_both_are_still_asked(
    tmp_path: Path,
    token_issuer: TestTokenIssuer,
    redis_server: PrivateRedis,
    round_trips: list[Any],
) -> None:
    revocations_db = redis_server.url.rsplit("/", 1)[0] + "/1"
    RedisRevocationStore(redis_client(revocations_db)).republish({})
    app = make_app(
        tmp_path / "split",
        token_issuer,
        REVOCATION_STORE_URI=revocations_db,
        RATELIMIT_STORAGE_URI=redis_server.url,
    )
    with app.app_context():
        db.create_all()
    try:
        alice = ApiClient(app.test_client(), token_issuer.mint(sub="1", name="alice"))
        assert alice.get("/v1/projects").status_code == 200
        round_trips.clear()
        assert alice.get("/v1/projects").status_code == 200
        assert len(round_trips) == 2  # the count, then the revocation store on its own
        RedisRevocationStore(redis_client(revocations_db)).revoke_user_tokens("1")
        assert alice.get("/v1/projects").status_code == 401
    finally:
        with app.app_context():
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
