"""Personal access tokens: made on /account/tokens, exchanged at /api/token, revoked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.extensions import db
from auth_service.models import User
from auth_service.tokens.models import PersonalToken
from servicekit.verifier import TokenError, TokenVerifier
from tests.support import (
    PASSWORD,
    create_token,
    exchange,
    login,
    make_user,
    post_form,
)


def test_a_token_is_shown_once_and_stored_as_a_hash(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client)
    token = create_token(client)

    listing = client.get("/account/tokens").get_data(as_text=True)
    assert "backup script" in listing
    assert "tasks:read" in listing
    assert token not in listing  # never shown again
    assert token[:9] in listing  # but its first characters tell it apart
    # where to exchange it, as mounted: /api/token alone, /auth/api/token behind the gateway
    assert "<code>POST /api/token</code>" in listing
    with app.app_context():
        row = db.session.scalar(db.select(PersonalToken))
        assert row is not None
        assert token not in (row.token_hash, row.hint)
        assert len(row.token_hash) == 64


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "x", "days": 30}, "Choose at least one scope"),
        ({"name": "x", "days": 400, "scopes": ["tasks:read"]}, "Not a valid choice"),
        ({"name": "x", "days": 30, "scopes": ["admin:all"]}, "not a valid choice"),
        ({"name": "", "days": 30, "scopes": ["tasks:read"]}, "This field is required"),
    ],
)
def test_bad_token_forms_say_what_is_wrong(
    app: Flask, client: FlaskClient, user: User, fields: dict[str, object], message: str
) -> None:
    login(client)
    response = post_form(client, "/account/tokens", **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(PersonalToken.id))) == 0


def test_exchange_gives_a_scoped_identity_token(
    app: Flask, client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    login(client)
    token = create_token(client, scopes=("tasks:read", "tasks:write"))

    response = exchange(app.test_client(), token)
    assert response.status_code == 200
    body = response.get_json()
    identity = verifier.verify(body["access_token"])
    assert identity.id == str(user.id)
    assert identity.scopes == {"tasks:read", "tasks:write"}
    assert isinstance(identity.claims["pat"], int)
    assert body["expires_in"] == app.config["AUTH_TOKEN_LIFETIME"]
    assert "Revoke backup script" in client.get("/account/tokens").get_data(as_text=True)


def test_revoking_stops_the_token_and_every_token_it_was_exchanged_for(
    app: Flask, client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    login(client)
    token = create_token(client)
    derived = exchange(app.test_client(), token).get_json()["access_token"]
    with app.app_context():
        token_id = db.session.scalar(db.select(PersonalToken.id))

    response = post_form(client, f"/account/tokens/{token_id}/revoke")
    assert response.status_code == 302

    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(derived)
    refused = exchange(app.test_client(), token)
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)


def test_nobody_revokes_someone_elses_token(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    token = create_token(client)
    with app.app_context():
        token_id = db.session.scalar(db.select(PersonalToken.id))
    make_user(app, "mallory")
    mallory = app.test_client()
    login(mallory, "mallory")

    assert post_form(mallory, f"/account/tokens/{token_id}/revoke").status_code == 404
    assert exchange(app.test_client(), token).status_code == 200


def test_revoking_needs_csrf(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    token = create_token(client)
    with app.app_context():
        token_id = db.session.scalar(db.select(PersonalToken.id))
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 400
    assert exchange(app.test_client(), token).status_code == 200


def test_expired_tokens_and_deactivated_owners_are_refused(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client)
    token = create_token(client, days=7)
    with app.app_context():
        row = db.session.scalar(db.select(PersonalToken))
        assert row is not None
        row.expires_at = row.expires_at - timedelta(days=8)
        db.session.commit()
    assert exchange(app.test_client(), token).status_code == 401

    second = create_token(client, name="other")
    assert exchange(app.test_client(), second).status_code == 200
    post_form(client, "/account/deactivate", current_password=PASSWORD)
    assert exchange(app.test_client(), second).status_code == 401


def test_a_password_change_ends_the_tokens_derived_so_far(
    app: Flask, client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    login(client)
    token = create_token(client)
    derived = exchange(app.test_client(), token).get_json()["access_token"]
    post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password="a whole new passphrase",
        confirm="a whole new passphrase",
    )
    with pytest.raises(TokenError):
        verifier.verify(derived)
    # The personal token itself stays (its owner revokes it if it leaked): a new exchange works.
    assert verifier.verify(exchange(app.test_client(), token).get_json()["access_token"])


@pytest.mark.parametrize(
    "body",
    [
        {"grant_type": "personal_access_token"},
        {"grant_type": "personal_access_token", "token": 42},
        {"grant_type": "personal_access_token", "token": "fsat_\u0000"},
        {"grant_type": "client_credentials"},
    ],
)
def test_bad_exchange_requests_are_422(client: FlaskClient, body: dict[str, object]) -> None:
    response = client.post("/api/token", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert set(response.get_json()["errors"]) <= {"grant_type", "token"}


def test_unknown_tokens_are_401(client: FlaskClient) -> None:
    for text in ("fsat_nothing-like-this", "not even the prefix", "fsat_" + "x" * 200):
        assert exchange(client, text).status_code == 401
