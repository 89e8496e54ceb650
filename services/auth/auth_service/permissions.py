"""Who may do what in auth: the rules the admin pages enforce, in one place.

The same shape as blog's and api's permissions: functions that answer a question about a user
(and the object at hand), called by the views, which decide how to refuse (a login redirect,
a 403, a 409 with the reason). Only admins manage other accounts.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from auth_service.extensions import db
from auth_service.models import User
from servicekit.claims import ADMIN


def can_administer(user: Any) -> bool:
    """Admins (signed in, with the admin role) may see and change every account."""
    return bool(user.is_authenticated and user.has_role(ADMIN))


def needs_verified_email(user: User, roles: set[str]) -> bool:
    """Whether giving ``roles`` waits for a verified address (UNVERIFIED_AUTHORS is off)."""
    gained = roles - set(user.roles)
    writes = {"author", ADMIN} & gained  # an admin is an author too
    return bool(writes) and not user.email_verified and not current_app.config["UNVERIFIED_AUTHORS"]


def removes_last_admin(user: User, roles: set[str]) -> bool:
    """Whether taking ``user``'s admin role away would leave no active admin."""
    if ADMIN not in user.roles or ADMIN in roles:
        return False
    others = select(func.count(User.id)).where(
        User.active.is_(True), User.role_names.contains(ADMIN), User.id != user.id
    )
    return (db.session.scalar(others) or 0) == 0


def can_deactivate(actor: Any, user: User) -> bool:
    """An admin deactivates others; their own account is closed from their account page."""
    return bool(user.id != actor.id)
