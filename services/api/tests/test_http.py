"""HTTP behaviour shared by every resource: auth, methods, problem+json errors."""

from __future__ import annotations

from flask import Flask

from servicekit.testing import TestTokenIssuer
from tests.support import ApiClient, create_project


def test_no_token_is_401_with_www_authenticate(app: Flask) -> None:
    client = app.test_client()
    for method, url in (
        ("GET", "/v1/projects"),
        ("POST", "/v1/projects"),
        ("GET", "/v1/projects/1"),
        ("DELETE", "/v1/tasks/1"),
    ):
        response = client.open(url, method=method)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.mimetype == "application/problem+json"


def test_bad_tokens_are_401(app: Flask, token_issuer: TestTokenIssuer) -> None:
    client = app.test_client()
    other_key = TestTokenIssuer(kid=token_issuer.kid)
    tokens = {
        "garbage": "not-a-token",
        "expired": token_issuer.mint(issued_at=1_000_000, lifetime=60),
        "wrong key": other_key.mint(),
        "wrong audience": token_issuer.mint(aud="someone-else"),
    }
    for reason, token in tokens.items():
        response = client.get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, reason
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_identity_cookie_is_not_accepted(app: Flask, token_issuer: TestTokenIssuer) -> None:
    client = app.test_client()
    client.set_cookie("identity", token_issuer.mint())
    assert client.get("/v1/projects").status_code == 401


def test_unsupported_method_is_405_with_allow(alice: ApiClient) -> None:
    project = create_project(alice)
    response = alice.post(f"/v1/projects/{project['id']}", json={})
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT", "PATCH", "DELETE"}
    assert "POST" not in response.headers["Allow"]
    assert alice.delete("/v1/projects").headers["Allow"]


def test_unknown_urls_are_404_problem(alice: ApiClient) -> None:
    response = alice.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["instance"] == "/v1/nothing-here"


def test_responses_carry_the_shared_headers(alice: ApiClient) -> None:
    response = alice.get("/v1/projects")
    assert "X-Request-ID" in response.headers
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_health_endpoints_need_no_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "service": "api", "checks": {"database": "ok"}}
