"""POST /api/token and the JWKS: problem+json errors, tokens that verify with the JWKS alone."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from servicekit.verifier import TokenError, TokenVerifier
from tests.support import (
    PASSWORD,
    get_token,
    login,
    make_user,
    post_form,
)


def test_token_endpoint_returns_a_bearer_token(client: FlaskClient, user: User) -> None:
    response = client.post("/api/token", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert response.headers["Cache-Control"] == "no-store"


def test_token_verifies_with_the_shared_verifier_and_only_the_jwks(
    client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    before = time.time()
    identity = verifier.verify(get_token(client))
    assert identity.id == str(user.id)
    assert identity.name == "alice"
    assert identity.roles == frozenset({"reader"})
    assert identity.claims["iss"] == "flask-services-auth"
    assert identity.claims["aud"] == "flask-services"
    assert isinstance(identity.claims["iat"], float)  # sub-second precision
    assert before <= identity.issued_at <= time.time()
    assert identity.expires_at == pytest.approx(identity.issued_at + 900)
    assert len(identity.token_id) == 32


def test_token_accepts_the_email_too(client: FlaskClient, user: User) -> None:
    assert get_token(client, "ALICE@example.com")


@pytest.mark.parametrize(
    ("username", "password"), [("alice", "wrong password"), ("nobody", PASSWORD)]
)
def test_wrong_credentials_get_401_problem_json(
    client: FlaskClient, user: User, username: str, password: str
) -> None:
    response = client.post("/api/token", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "Invalid username or password."


def test_a_deactivated_user_gets_no_token(app: Flask, client: FlaskClient) -> None:
    make_user(app, "carol", active=False)
    response = client.post("/api/token", json={"username": "carol", "password": PASSWORD})
    assert response.status_code == 401
    assert "access_token" not in response.get_json()


@pytest.mark.parametrize(
    ("body", "invalid"),
    [
        ({"username": "alice"}, {"password"}),
        ({"password": PASSWORD}, {"username"}),
        ({"username": 7, "password": PASSWORD}, {"username"}),
        ({"username": "alice", "password": ""}, {"password"}),
        ({"username": "alice", "password": "x" * 1000}, {"password"}),
    ],
)
def test_well_formed_bodies_with_bad_members_get_422_with_field_errors_like_the_api(
    client: FlaskClient, user: User, body: dict[str, object], invalid: set[str]
) -> None:
    response = client.post("/api/token", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["detail"] == (
        "The request body is invalid; 'errors' lists the messages of each field."
    )
    assert set(problem["errors"]) == invalid


def test_every_invalid_member_is_named_at_once(client: FlaskClient) -> None:
    response = client.post("/api/token", json={"username": 7})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "username": ["Required, a non-empty string."],
        "password": ["Required, a non-empty string."],
    }


@pytest.mark.parametrize("data", ["[1, 2]", "null", '"alice"'])
def test_well_formed_json_that_is_not_an_object_gets_422(client: FlaskClient, data: str) -> None:
    response = client.post("/api/token", data=data, content_type="application/json")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert list(response.get_json()["errors"]) == ["_schema"]


@pytest.mark.parametrize("data", ["not json", '{"username": "alice",', ""])
def test_malformed_json_gets_400(client: FlaskClient, data: str) -> None:
    response = client.post("/api/token", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "The request body is not well-formed JSON."


def test_form_bodies_get_415_like_the_api(client: FlaskClient, user: User) -> None:
    response = client.post("/api/token", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_jwks_publishes_only_public_keys(client: FlaskClient) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    (key,) = response.get_json()["keys"]
    assert key["kty"] == "OKP"
    assert key["crv"] == "Ed25519"
    assert key["alg"] == "EdDSA"
    assert key["use"] == "sig"
    assert key["kid"]
    assert "d" not in key  # the private part


def test_token_after_logout_is_revoked(
    client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:

    token = get_token(client)
    verifier.verify(token)
    login(client)
    post_form(client, "/logout")
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(token)
    assert verifier.verify(get_token(client))  # a new login works again at once
