"""Starting and ending a user's sessions: Flask-Login, the identity cookie, revocation.

Three things make up "being signed in" across the system:

* auth's own Flask-Login session (and remember-me cookie), holding the user's session token;
* the origin-wide identity cookie holding a short-lived signed token, read by blog;
* bearer tokens that programs got from ``POST /auth/api/token``.

:func:`end_all_sessions` ends all three for a user at once. Each browser's session is also a
row of ``devices`` (devices/models.py), so the account page can list them and
:func:`end_devices` can end some alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

import flask_login
from flask import g, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update
from werkzeug.wrappers import Response

from auth_service.activity import client_details, record_event
from auth_service.devices.models import Device, new_device_key
from auth_service.events import auth_event
from auth_service.extensions import db
from auth_service.models import User
from auth_service.revocations import publish_mark, publish_revoked_tokens, record_revoked_tokens
from auth_service.signing import issue_token
from servicekit.clock import utcnow
from servicekit.identitycookie import set_identity_cookie

P = ParamSpec("P")
R = TypeVar("R")


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Flask-Login's ``login_required``, typed (Flask-Login ships no type information)."""
    wrapped: Callable[P, R] = flask_login.login_required(view)
    return wrapped


#: How often a device's "last seen" is written: not on every request.
LAST_SEEN_EVERY = timedelta(minutes=1)


def start_session(user: User, *, remember: bool, method: str | None = "password") -> None:
    """Log ``user`` in, in a brand-new session (no fixation: nothing from before survives).

    ``method`` (password, two_factor, recovery_code) is recorded as a sign-in event; None
    records none (the session that follows a password change is no new sign-in).
    """
    session.clear()
    ip, agent = client_details()
    device = Device(key=new_device_key(), user_id=user.id, ip=ip, user_agent=agent)
    db.session.add(device)
    user.device_key = device.key
    login_user(user, remember=remember)
    user.last_login_at = utcnow()
    db.session.commit()
    if method is not None:
        record_event("login", user, remember=remember, method=method)


def load_user(alternative_id: str) -> User | None:
    """Flask-Login's user loader: the active user whose session version and device are both
    in the cookie and still current. Anything stale finds nobody."""
    session_token, _, device_key = alternative_id.partition(".")
    query = (
        select(User, Device)
        .join(Device, Device.user_id == User.id)
        .where(User.session_token == session_token, Device.key == device_key)
        .where(Device.ended_at.is_(None))
    )
    found = db.session.execute(query).first()
    if found is None:
        return None
    user, device = found
    if not user.active:
        return None
    user.device_key = device.key
    now = utcnow()
    if now - as_utc(device.last_seen_at) > LAST_SEEN_EVERY:
        device.last_seen_at = now
        device.ip, device.user_agent = client_details()
        db.session.commit()
    g.user_id = str(user.id)  # servicekit's access log line names the user
    return user


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (SQLite hands back naive ones)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def active_devices(user_id: int) -> list[Device]:
    """The user's signed-in devices, most recently seen first."""
    query = (
        select(Device)
        .where(Device.user_id == user_id, Device.ended_at.is_(None))
        .order_by(Device.last_seen_at.desc(), Device.id.desc())
    )
    return list(db.session.scalars(query))


def end_devices(user: User, devices: list[Device]) -> bool:
    """Sign some of the user's devices out: sessions, remember-me cookies and identity tokens.

    One commit ends the rows and records their tokens as revoked (auth_service.revocations);
    publishing to Redis comes after and may fail without failing the request. Returns whether
    it was published.
    """
    # One conditional UPDATE: of two requests ending the same device at once (a double click),
    # only the first ends it and records its token; the second finds it ended and adds nothing.
    ended = db.session.execute(
        update(Device)
        .where(Device.id.in_([device.id for device in devices]), Device.ended_at.is_(None))
        .values(ended_at=utcnow())
        .returning(Device.token_jti, Device.token_expires_at)
    )
    tokens = [(jti, expires_at) for jti, expires_at in ended if jti and expires_at]
    revoked = record_revoked_tokens(user.id, tokens)
    db.session.commit()
    published = publish_revoked_tokens(revoked)
    auth_event("devices_ended", user, devices=len(devices), published=published)
    return published


def issue_identity_cookie(response: Response, user: User) -> Response:
    """Put a fresh identity token for ``user`` in the origin-wide cookie blog reads."""
    issued = issue_token(user.id, user.username, user.roles)
    set_identity_cookie(response, issued.token, max_age=issued.lifetime)
    if user.device_key is not None:  # remembered, so ending the device revokes the token
        db.session.execute(
            update(Device)
            .where(Device.key == user.device_key)
            .values(token_jti=issued.jti, token_expires_at=issued.expires_at)
        )
        db.session.commit()
    auth_event("token_issued", user, via="cookie", jti=issued.jti)
    return response


def end_all_sessions(user: User, reason: str) -> None:
    """Invalidate every session, remember-me cookie and token of ``user``, everywhere.

    The new session token makes earlier auth cookies useless; the revocation mark makes every
    identity token issued until now fail in every verifier. Commits: from then on the
    revocation holds, even if publishing the mark to Redis fails (auth_service.revocations).
    """
    user.end_sessions(time.time())
    db.session.execute(
        update(Device)
        .where(Device.user_id == user.id, Device.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    db.session.commit()
    published = publish_mark(user.id, user.tokens_valid_after or time.time())
    auth_event("sessions_ended", user, reason=reason, published=published)


def log_out_here() -> None:
    """Forget the user in this browser: Flask-Login session and remember-me cookie."""
    # Clear first: logout_user() leaves a note in the session that deletes the remember-me cookie.
    session.clear()
    logout_user()
