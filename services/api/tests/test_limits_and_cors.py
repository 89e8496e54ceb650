"""Rate limits per token subject, and CORS only for configured origins."""

from __future__ import annotations

import time

import pytest
from flask import Flask

from servicekit.identity import get_verifier
from servicekit.settings import Env
from servicekit.testing import TestTokenIssuer
from tests.support import ApiClient


@pytest.mark.config(API_RATE_LIMIT="3 per minute")
def test_each_token_subject_has_its_own_budget(alice: ApiClient, bob: ApiClient) -> None:
    for remaining in (2, 1, 0):
        response = alice.get("/v1/projects")
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == str(remaining)
        assert "Retry-After" not in response.headers  # only a refusal says when to retry

    limited = alice.get("/v1/projects")
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.headers["RateLimit-Remaining"] == "0"

    # Another user is not affected, and neither are the health endpoints.
    assert bob.get("/v1/projects").status_code == 200
    assert alice.client.get("/healthz").status_code == 200
    assert alice.client.get("/openapi.json").status_code == 200


@pytest.mark.config(API_RATE_LIMIT="2 per minute")
def test_a_forged_token_does_not_spend_its_victims_budget(app: Flask, alice: ApiClient) -> None:
    forged = ApiClient(app.test_client(), alice.token[:-4] + "AAAA")
    for _ in range(3):
        assert forged.get("/v1/projects").status_code in {401, 429}
    assert alice.get("/v1/projects").status_code == 200


@pytest.mark.config(API_RATE_LIMIT="3 per minute")
def test_a_revoked_token_does_not_spend_its_users_budget(
    app: Flask, alice: ApiClient, token_issuer: TestTokenIssuer
) -> None:
    stolen = ApiClient(app.test_client(), token_issuer.mint(sub="1", name="alice", jti="stolen"))
    with app.app_context():
        get_verifier().revocations.revoke_token("stolen", time.time() + 300)
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "2"
    assert [stolen.get("/v1/projects").status_code for _ in range(4)] == [401, 401, 401, 429]
    assert alice.get("/v1/projects").headers["RateLimit-Remaining"] == "1"


def test_no_cors_headers_by_default(alice: ApiClient) -> None:
    response = alice.get("/v1/projects", headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.config(API_CORS_ORIGINS=["https://app.example.org"])
def test_cors_for_configured_origins_only(alice: ApiClient) -> None:
    allowed = alice.get("/v1/projects", headers={"Origin": "https://app.example.org"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.org"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers

    other = alice.get("/v1/projects", headers={"Origin": "https://evil.example.com"})
    assert "Access-Control-Allow-Origin" not in other.headers

    preflight = alice.client.options(
        "/v1/projects/1",
        headers={
            "Origin": "https://app.example.org",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Authorization, If-Match, Content-Type",
        },
    )
    assert preflight.status_code == 200
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "if-match" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_cors_origins_come_from_the_environment() -> None:
    from api_service.config import api_config_from_env

    origins = {"API_CORS_ORIGINS": "https://a.example, https://b.example"}
    config = api_config_from_env(Env("api", origins))
    assert config["API_CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert api_config_from_env(Env("api", {}))["API_CORS_ORIGINS"] == []
