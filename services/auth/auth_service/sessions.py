"""Starting and ending a user's sessions: Flask-Login, the identity cookie, revocation.

Three things make up "being logged in" across the system:

* auth's own Flask-Login session (and remember-me cookie), holding the user's session token;
* the origin-wide identity cookie holding a short-lived signed token, read by blog;
* bearer tokens that programs got from ``POST /auth/api/token``.

:func:`end_all_sessions` ends all three for a user at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import flask_login
from flask import current_app, session
from flask_login import login_user, logout_user
from werkzeug.wrappers import Response

from auth_service.events import auth_event
from auth_service.extensions import db
from auth_service.models import User, utcnow
from auth_service.signing import issue_token
from servicekit.revocation import RevocationStore, revocation_store_from_uri

P = ParamSpec("P")
R = TypeVar("R")


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Flask-Login's ``login_required``, typed (Flask-Login ships no type information)."""
    wrapped: Callable[P, R] = flask_login.login_required(view)
    return wrapped


def revocations() -> RevocationStore:
    """The revocation store blog and api consult (REVOCATION_STORE_URI)."""
    return revocation_store_from_uri(current_app.config["REVOCATION_STORE_URI"])


def start_session(user: User, *, remember: bool) -> None:
    """Log ``user`` in, in a brand-new session (no fixation: nothing from before survives)."""
    session.clear()
    login_user(user, remember=remember)
    user.last_login_at = utcnow()
    db.session.commit()
    auth_event("login", user, remember=remember)


def set_identity_cookie(response: Response, user: User) -> Response:
    """Put a fresh identity token for ``user`` in the origin-wide cookie blog reads."""
    issued = issue_token(user.id, user.username, user.roles)
    config = current_app.config
    response.set_cookie(
        config["IDENTITY_COOKIE_NAME"],
        issued.token,
        max_age=issued.lifetime,
        path="/",
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    auth_event("token_issued", user, via="cookie", jti=issued.jti)
    return response


def clear_identity_cookie(response: Response) -> Response:
    """Remove the identity cookie from the browser."""
    config = current_app.config
    response.delete_cookie(
        config["IDENTITY_COOKIE_NAME"],
        path="/",
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def end_all_sessions(user: User, reason: str) -> None:
    """Invalidate every session, remember-me cookie and token of ``user``, everywhere.

    The new session token makes earlier auth cookies useless; the revocation mark makes every
    identity token issued until now fail in every verifier. Commits.
    """
    user.end_sessions()
    db.session.commit()
    revocations().revoke_user_tokens(str(user.id))
    auth_event("sessions_ended", user, reason=reason)


def log_out_here() -> None:
    """Forget the user in this browser: Flask-Login session and remember-me cookie."""
    # Clear first: logout_user() leaves a note in the session that deletes the remember-me cookie.
    session.clear()
    logout_user()
