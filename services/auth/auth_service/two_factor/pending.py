"""The state between a correct password and a correct code: a pending sign-in in the session.

It names the user, the session version at the time (so a password change in between voids
it), whether to remember the device and where to go next, and when it started: it expires
after TWO_FACTOR_LOGIN_SECONDS. It grants nothing by itself; only the code does.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, session

from auth_service.extensions import db
from auth_service.models import User

_KEY = "two_factor_pending"


def begin(user: User, *, remember: bool, next_url: str) -> None:
    """Remember that ``user`` gave the right password and must now give a code."""
    session.clear()  # nothing from before the sign-in survives it (no session fixation)
    session[_KEY] = {
        "user": user.id,
        "version": user.session_token,
        "remember": remember,
        "next": next_url,
        "since": time.time(),
    }


def current() -> dict[str, Any] | None:
    """The pending sign-in, if there is one and it has not expired."""
    pending = session.get(_KEY)
    if not isinstance(pending, dict):
        return None
    age = time.time() - float(pending.get("since", 0))
    if not 0 <= age <= current_app.config["TWO_FACTOR_LOGIN_SECONDS"]:
        return None
    return pending


def pending_user() -> User | None:
    """The active user of the pending sign-in, unless their sessions ended since."""
    pending = current()
    if pending is None:
        return None
    user = db.session.get(User, pending["user"])
    if user is None or not user.active or user.session_token != pending["version"]:
        return None
    return user


def rate_limit_key() -> str:
    """Flask-Limiter key: the account of the pending sign-in (so guesses count per account)."""
    pending = session.get(_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"two-factor:{user}"


def finish() -> dict[str, Any] | None:
    """Take the pending sign-in out of the session."""
    found: dict[str, Any] | None = session.pop(_KEY, None)
    return found
