"""``POST /api/token`` for programs, the public keys every verifier reads, the OpenAPI document.

Two ways to get a bearer token (the JSON member ``grant_type`` chooses):

* ``password`` (the default): ``username`` and ``password``, and ``otp`` (a code from the
  authenticator app, or a recovery code) when the account has two-factor sign-in on;
* ``personal_access_token``: ``token``, a personal access token made on /account/tokens; the
  bearer token it yields carries that token's ``scope``.

Errors here are problem+json (RFC 9457): the blueprint is listed in PROBLEM_JSON_BLUEPRINTS.
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
from servicekit.errors import Problem
from servicekit.inputs import unstorable

GRANT_TYPES = ("password", "personal_access_token")

bp = Blueprint("api", __name__)


def _credentials(body: Any) -> tuple[str, str]:
    """``username`` and ``password`` from the JSON body, or a 400 naming what is wrong."""
    if not isinstance(body, dict):
        raise Problem(400, "Send a JSON object with username and password.")
    errors: dict[str, list[str]] = {}
    for name in ("username", "password"):
        value = body.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["Required, a non-empty string."]
        elif len(value) > MAX_LENGTH * 2:
            errors[name] = ["Too long."]
        elif problem := unstorable(value):  # a NUL or a lone surrogate: no query, no hash
            errors[name] = [problem]
    if errors:
        raise Problem(400, "Some fields are missing or invalid.", errors=errors)
    return body["username"], body["password"]


@bp.post("/api/token")
@limiter.limit(config_limit("LOGIN_RATE_LIMIT_IP"), on_breach=log_lockout)
@account_budget
def token() -> Response:
    """Exchange credentials (a password, or a personal access token) for a bearer token."""
    body = request.get_json(silent=True)
    grant_type = body.get("grant_type", "password") if isinstance(body, dict) else "password"
    if grant_type not in GRANT_TYPES:
        raise Problem(
            400,
            f"Unsupported grant_type: use one of {', '.join(GRANT_TYPES)}.",
            errors={"grant_type": [f"One of {', '.join(GRANT_TYPES)}."]},
        )
    if grant_type == "personal_access_token" and isinstance(body, dict):
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


def _password_grant(body: Any) -> IssuedToken:
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
    if not isinstance(text, str) or not text.strip():
        raise Problem(400, "Send the personal access token as 'token'.",
                      errors={"token": ["Required, a non-empty string."]})  # fmt: skip
    found = personal.find_usable(text.strip())
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
