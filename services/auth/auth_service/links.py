"""Signed, expiring links sent by email: password reset, email verification, email change.

Each token is an itsdangerous signature (the app's SECRET_KEY, a salt per purpose, so a token
for one purpose never works for another) over a small payload that binds it to the state it
may change. It works only while that state is unchanged, which also makes it single use:

* reset: a fingerprint of the password hash. Any new password (the reset itself included)
  changes the hash, so the link dies once used or once the password changed otherwise;
* verification: a fingerprint of the address it was sent to; dead once the address changed;
* email change: the current address and the new one; dead once the change applied.

Payloads are signed, not encrypted: they hold ids and keyed fingerprints, never a hash.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from auth_service.extensions import db
from auth_service.models import User

RESET = "password-reset"
VERIFY = "verify-email"
CHANGE_EMAIL = "change-email"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key or "", salt=f"auth_service.{purpose}")


def fingerprint(value: str) -> str:
    """A keyed digest of ``value``: equal values match, the value cannot be read back."""
    secret = current_app.secret_key or ""
    key = (secret if isinstance(secret, bytes) else secret.encode()) + b":fingerprint"
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def _load(purpose: str, token: str, max_age: int) -> tuple[User, dict[str, Any]] | None:
    """The active user a valid, unexpired token names, and its payload; None otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except BadData:  # bad signature, expired, or not even a token
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    user = db.session.get(User, payload["u"])
    if user is None or not user.active:
        return None
    return user, payload


def reset_token(user: User) -> str:
    """A password reset link's token for ``user``."""
    return str(_serializer(RESET).dumps({"u": user.id, "p": fingerprint(user.password_hash)}))


def user_for_reset(token: str) -> User | None:
    """The user a reset token is valid for right now, or None."""
    found = _load(RESET, token, current_app.config["PASSWORD_RESET_MAX_AGE"])
    if found is None:
        return None
    user, payload = found
    if not hmac.compare_digest(str(payload.get("p")), fingerprint(user.password_hash)):
        return None  # used already, or the password changed since it was sent
    return user


def verification_token(user: User) -> str:
    """A verification link's token for the user's current address."""
    return str(_serializer(VERIFY).dumps({"u": user.id, "e": fingerprint(user.email)}))


def user_for_verification(token: str) -> User | None:
    """The user whose current address a verification token confirms, or None."""
    found = _load(VERIFY, token, current_app.config["EMAIL_LINK_MAX_AGE"])
    if found is None:
        return None
    user, payload = found
    if not hmac.compare_digest(str(payload.get("e")), fingerprint(user.email)):
        return None  # sent to an address the account no longer has
    return user


def email_change_token(user: User, new_email: str) -> str:
    """A token that moves ``user`` from their current address to ``new_email``."""
    payload = {"u": user.id, "from": fingerprint(user.email), "to": new_email}
    return str(_serializer(CHANGE_EMAIL).dumps(payload))


def email_change_for(token: str) -> tuple[User, str] | None:
    """The user and new address of a valid email change token, or None."""
    found = _load(CHANGE_EMAIL, token, current_app.config["EMAIL_LINK_MAX_AGE"])
    if found is None:
        return None
    user, payload = found
    new_email = payload.get("to")
    if not isinstance(new_email, str) or not hmac.compare_digest(
        str(payload.get("from")), fingerprint(user.email)
    ):
        return None  # applied already, or the address changed another way since
    return user, new_email
