"""``POST /api/token`` for programs, and the public keys every verifier reads.

Errors here are problem+json (RFC 9457): the blueprint is listed in PROBLEM_JSON_BLUEPRINTS.
There is no CSRF token: the endpoint reads no cookie, so a forged cross-site request gains
nothing it did not already send (the password).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from auth_service.accounts.views import INVALID_CREDENTIALS, check_credentials
from auth_service.events import auth_event
from auth_service.extensions import limiter
from auth_service.passwords import MAX_LENGTH
from auth_service.ratelimits import account_key, config_limit, failed_attempt, log_lockout
from auth_service.signing import issue_token, keyring
from servicekit.errors import Problem

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
    if errors:
        raise Problem(400, "Some fields are missing or invalid.", errors=errors)
    return body["username"], body["password"]


@bp.post("/api/token")
@limiter.limit(config_limit("LOGIN_RATE_LIMIT_IP"), on_breach=log_lockout)
@limiter.limit(
    config_limit("LOGIN_RATE_LIMIT_ACCOUNT"),
    key_func=account_key("username"),
    deduct_when=failed_attempt,
    on_breach=log_lockout,
)
def token() -> Response:
    """Exchange a username (or email) and password for a bearer token."""
    username, password = _credentials(request.get_json(silent=True))
    user = check_credentials(username, password)
    if user is None:
        raise Problem(401, INVALID_CREDENTIALS)
    issued = issue_token(user.id, user.username, user.roles)
    auth_event("token_issued", user, via="api", jti=issued.jti)
    response = jsonify(
        access_token=issued.token,
        token_type="Bearer",  # noqa: S106 - the OAuth 2 token type, not a password
        expires_in=issued.lifetime,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public keys (JWKS) that verify identity tokens; cacheable for a few minutes."""
    response = jsonify(keyring().jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
