"""Development only: the demo accounts a fresh `nox -s dev` instance starts with.

A newcomer should see the whole system in the first minutes: an admin (every role, the user
admin pages) and an author (who can write posts), made on the first start of an empty instance.
Their passwords are random, made anew for each instance folder, and shown once to the person
who started it; only their argon2 hashes are stored. Outside ``APP_ENV=development`` nothing is
made: a production database never gets an account with a password printed on a console.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from auth_service.accounts.provisioning import create_verified_user
from auth_service.extensions import db
from auth_service.models import User
from servicekit.claims import ROLES

#: username, email (example.com is reserved for examples: no mail reaches anyone), roles
DEMO_ACCOUNTS = (
    ("demo-admin", "demo-admin@example.com", ROLES),
    ("demo-author", "demo-author@example.com", ("reader", "author")),
)


class NotDevelopmentError(RuntimeError):
    """Demo accounts were asked for outside development."""


@dataclass(frozen=True)
class DemoAccount:
    """A demo account as made: its password exists nowhere else once this is dropped."""

    id: int
    username: str
    email: str
    password: str
    roles: tuple[str, ...]


def create_demo_accounts() -> list[DemoAccount]:
    """Make the demo accounts in the current app if it has no user yet; [] if it has.

    Raises NotDevelopmentError unless the app runs with ``APP_ENV=development``.
    """
    app_env = current_app.config["APP_ENV"]
    if app_env != "development":
        raise NotDevelopmentError(
            f"demo accounts are made only with APP_ENV=development (this app: {app_env})"
        )
    if db.session.scalar(select(func.count()).select_from(User)):
        return []
    made = []
    for username, email, roles in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)  # 96 random bits, typed once or pasted
        user = create_verified_user(username, email, password, roles)
        made.append(DemoAccount(user.id, user.username, user.email, password, tuple(user.roles)))
    return made
