"""Test data: users made directly in the database, with the app's (cheap) hashing."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask

from auth_service.extensions import db
from auth_service.models import User, new_session_token
from auth_service.passwords import hash_password
from servicekit.clock import utcnow

PASSWORD = "correct horse battery staple"


def make_user(
    app: Flask,
    username: str,
    *,
    password: str = PASSWORD,
    email: str | None = None,
    roles: Iterable[str] = ("reader",),
    active: bool = True,
    verified: bool = True,
) -> User:
    """Create and commit a user (email verified unless ``verified=False``); returns it
    detached-safe (attributes loaded)."""
    with app.app_context():
        user = User(
            username=username,
            email=email or f"{username}@example.com",
            password_hash=hash_password(password),
            session_token=new_session_token(),
            active=active,
            email_verified_at=utcnow() if verified else None,
        )
        user.roles = list(roles)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user
