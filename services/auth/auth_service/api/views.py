"""``POST /api/token`` for programs, the public keys every verifier reads, the OpenAPI document.

Two ways to get a bearer token (the JSON member ``grant_type`` chooses):

* ``password`` (the default): ``username`` and ``password``, and ``otp`` (a code from the
  authenticator app, or a recovery code) when the account has two-factor sign-in on;
* ``personal_access_token``: ``token``, a personal access token made on /account/tokens; the
  bearer token it yields carries that token's ``scope``.

Errors here are problem+json (RFC 9457): the blueprint is listed in PROBLEM_JSON_BLUEPRINTS. The
statuses are the api's (servicekit's helpers): 415 for a body that is not JSON, 400 for malformed
JSON, 422 with each member's messages in ``errors`` for a JSON body whose members are wrong, 401
for credentials that do not match.
There is no CSRF token: the endpoint reads no cookie, so a forged cross-site request gains
nothing it did not already send (the password).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from auth_service.accounts.views import INVALID_CREDENTIALS, check_credentials
from auth_service.activity import record_event
from auth_service.api.openapi import DOCUMENT
from auth_service.events import auth_event
from auth_service.extensions import limiter
from auth_service.models import User
from auth_service.passwords import MAX_LENGTH
from auth_service.ratelimits import account_budget, config_limit, log_lockout
from auth_service.signing import IssuedToken, issue_token, keyring
from auth_service.tokens import personal
from auth_service.two_factor.codes import check_second_factor
from servicekit.errors import Problem, invalid_fields
from servicekit.inputs import json_body, unstorable

GRANT_TYPES = ("password", "personal_access_token")

bp = Blueprint("api", __name__)


def _body() -> dict[str, Any]:
    """The JSON object of the request: 415, 400 or 422 (the API's statuses) when it is not one."""
    body = json_body()
    if not isinstance(body, dict):
        raise invalid_fields({"_schema": ["Send a JSON object (grant_type and its members)."]})
    return body


def _text_problem(value: Any) -> str | None:
    """Why a credential member is unusable (a message for its field), or None."""
    if not isinstance(value, str) or not value.strip():
        return "Required, a non-empty string."
    if len(value) > MAX_LENGTH * 2:
        return "Too long."
    return unstorable(value)  # a NUL or a lone surrogate: no query, no hash


def _credentials(body: dict[str, Any]) -> tuple[str, str]:
    """``username`` and ``password`` from the body, or a 422 naming each invalid member."""
    errors = {
        name: [problem]
        for name in ("username", "password")
        if (problem := _text_problem(body.get(name)))
    }
    if errors:
        raise invalid_fields(errors)
    return body["username"], body["password"]


@bp.post("/api/token")
@limiter.limit(config_limit("LOGIN_RATE_LIMIT_IP"), on_breach=log_lockout)
@account_budget
def token() -> Response:
    """Exchange credentials (a password, or a personal access token) for a bearer token."""
    body = _body()
    grant_type = body.get("grant_type", "password")
    if grant_type not in GRANT_TYPES:
        raise invalid_fields({"grant_type": [f"One of {', '.join(GRANT_TYPES)}."]})
    if grant_type == "personal_access_token":
        issued = _personal_token_grant(body)
    else:
        issued = _password_grant(body)
    response = jsonify(
        access_token=issued.token,
        token_type="Bearer",  # noqa: S106 - the OAuth 2 token type, not a password
        expires_in=issued.lifetime,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _password_grant(body: dict[str, Any]) -> IssuedToken:
    username, password = _credentials(body)
    user = check_credentials(username, password)
    if user is None:
        raise Problem(401, INVALID_CREDENTIALS)
    if user.two_factor_enabled:
        _check_otp(user, body.get("otp"))
    issued = issue_token(user.id, user.username, user.roles)
    auth_event("token_issued", user, via="api", jti=issued.jti)
    return issued


def _check_otp(user: User, otp: Any) -> None:
    """With two-factor on, the password alone is not enough: ``otp`` must hold a valid code."""
    if not isinstance(otp, str) or not otp.strip():
        raise Problem(
            401,
            "This account uses two-factor sign-in: send the current code as 'otp'.",
            errors={"otp": ["Required: a code from the authenticator app, or a recovery code."]},
        )
    if check_second_factor(user, otp[:32]) is None:
        record_event("two_factor_failed", user, via="api")
        raise Problem(401, "The code in 'otp' is not valid, or was used already.")


def _personal_token_grant(body: dict[str, Any]) -> IssuedToken:
    # A personal token has 256 random bits: the per-IP limit is all a guesser meets, and a
    # failure here must not spend the per-account budget of the password grant.
    text = body.get("token")
    if problem := _text_problem(text):
        raise invalid_fields({"token": [problem]})
    found = personal.find_usable(str(text).strip())  # a string: _text_problem said so
    if found is None:
        auth_event("personal_token_refused")
        raise Problem(401, "This personal access token is invalid, expired or revoked.")
    row, user = found
    issued = personal.exchange(row, user)
    auth_event("token_issued", user, via="personal_token", pat=row.id, jti=issued.jti)
    return issued


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public keys (JWKS) that verify identity tokens; cacheable for a few minutes."""
    response = jsonify(keyring().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document of the endpoints above, with the URL auth is mounted at as server."""
    return jsonify({**DOCUMENT, "servers": [{"url": request.script_root or "/"}]})
