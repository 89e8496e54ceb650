"""Hostile tokens are refused by the shared verifier fed with auth's JWKS; rotation keeps
tokens issued before it valid until they expire."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from auth_service.signing import write_private_key
from servicekit.revocation import revocation_store_from_uri
from servicekit.testing import TestTokenIssuer
from servicekit.verifier import TokenError, TokenVerifier
from tests.support import AppFactory, get_token, make_user


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_bad_signature_is_refused(client: FlaskClient, user: User, verifier: TokenVerifier) -> None:
    header, payload, signature = get_token(client).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["roles"] = ["admin"]
    forged = f"{header}.{_b64(claims)}.{signature}"
    with pytest.raises(TokenError, match="invalid token"):
        verifier.verify(forged)


def test_another_key_with_the_same_kid_is_refused(
    client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    kid = client.get("/.well-known/jwks.json").get_json()["keys"][0]["kid"]
    impostor = TestTokenIssuer(kid)
    with pytest.raises(TokenError):
        verifier.verify(impostor.mint(sub=str(user.id), roles=["admin"]))


def test_alg_none_is_refused(client: FlaskClient, user: User, verifier: TokenVerifier) -> None:
    header, payload, _ = get_token(client).split(".")
    kid = json.loads(base64.urlsafe_b64decode(header + "=="))["kid"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{payload}."
    with pytest.raises(TokenError, match="not allowed"):
        verifier.verify(unsigned)


def test_hmac_signed_with_the_public_key_is_refused(
    client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    jwk = client.get("/.well-known/jwks.json").get_json()["keys"][0]
    claims = jwt.decode(get_token(client), options={"verify_signature": False})
    forged = jwt.encode(claims, jwk["x"], algorithm="HS256", headers={"kid": jwk["kid"]})
    with pytest.raises(TokenError, match="not allowed"):
        verifier.verify(forged)


def test_wrong_audience_is_refused(app: Flask, client: FlaskClient, user: User) -> None:
    token = get_token(client)
    other = TokenVerifier(
        issuer=app.config["AUTH_ISSUER"],
        audience="another-system",
        revocations=revocation_store_from_uri(app.config["REVOCATION_STORE_URI"]),
        jwks=client.get("/.well-known/jwks.json").get_json(),
    )
    with pytest.raises(TokenError, match=r"(?i)audience"):
        other.verify(token)


def test_expired_token_is_refused(
    client: FlaskClient, user: User, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # auth issues the token 20 minutes "ago": its 15-minute lifetime (plus leeway) is over.
    past = time.time() - 1200
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: past)
        token = get_token(client)
    with pytest.raises(TokenError, match=r"(?i)expired"):
        verifier.verify(token)


def test_unknown_kid_is_refused(client: FlaskClient, user: User, verifier: TokenVerifier) -> None:
    stranger = TestTokenIssuer("not-a-published-kid")
    with pytest.raises(TokenError, match="unknown key id"):
        verifier.verify(stranger.mint(sub=str(user.id)))


def test_rotation_keeps_old_tokens_valid_until_they_expire(
    tmp_path: Path, app_factory: AppFactory
) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    old_key = write_private_key(keys)
    environ = {"AUTH_SIGNING_KEY_FILE": str(keys)}
    before = app_factory(environ=environ)
    make_user(before, "alice")
    old_token = get_token(before.test_client())
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    time.sleep(0.01)  # key files are named by time
    new_key = write_private_key(keys)
    assert sorted(keys.glob("*.pem")) == [old_key, new_key]
    after = app_factory(
        {"REVOCATION_STORE_URI": before.config["REVOCATION_STORE_URI"]}, environ=environ
    )
    client = after.test_client()
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert jwks["keys"][0]["kid"] == old_kid
    assert len(jwks["keys"]) == 2
    verifier = TokenVerifier(
        issuer=after.config["AUTH_ISSUER"],
        audience=after.config["AUTH_AUDIENCE"],
        revocations=revocation_store_from_uri(after.config["REVOCATION_STORE_URI"]),
        jwks=jwks,
        leeway=0,
    )
    new_token = get_token(client)
    assert jwt.get_unverified_header(new_token)["kid"] != old_kid  # the new key signs
    assert verifier.verify(old_token).name == "alice"
    assert verifier.verify(new_token).name == "alice"

    # Once the old key's tokens have expired, it can leave the directory (and the JWKS).
    old_key.unlink()
    retired = app_factory(environ=environ)
    (only,) = retired.test_client().get("/.well-known/jwks.json").get_json()["keys"]
    assert only["kid"] != old_kid
