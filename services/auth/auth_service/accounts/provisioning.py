"""Accounts an operator makes, not the register form: ``create-admin`` and the demo accounts.

The operator chose the address, so it counts as verified (no mail needed to start), and the
roles are given at once.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.exc import IntegrityError

from auth_service.accounts.lookup import find_user
from auth_service.extensions import db
from auth_service.models import User, new_session_token
from auth_service.passwords import hash_password, password_problem
from servicekit.clock import utcnow

TAKEN = "A user with this username or email already exists."


class AccountRefusedError(ValueError):
    """The account cannot be made; the message says why (a password rule, a taken name)."""


def create_verified_user(username: str, email: str, password: str, roles: Iterable[str]) -> User:
    """Add and commit a user with ``roles`` and a verified email, or raise AccountRefusedError."""
    username, email = username.strip(), email.strip().lower()
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise AccountRefusedError(problem)
    if find_user(username) is not None or find_user(email) is not None:
        raise AccountRefusedError(TAKEN)
    user = User(
        username=username,
        email=email,
        password_hash=hash_password(password),
        session_token=new_session_token(),
    )
    user.roles = list(roles)
    user.email_verified_at = utcnow()
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # someone took the name or email a moment ago
        db.session.rollback()
        raise AccountRefusedError(TAKEN) from None
    return user
