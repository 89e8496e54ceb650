"""How an account is named and found: Unicode-normalised (NFKC), then ignoring case.

NFKC folds the many ways Unicode can spell the same visible text (full-width letters, a
ligature, a composed or decomposed accent) into one, so two people cannot hold look-alike
names and a login typed on another keyboard still finds its account. Case is ignored on top:
"Frank" and "frank" are one account (the database enforces it with unique indexes on the
lower-cased values).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import func, or_, select

from auth_service.extensions import db
from auth_service.models import User


def normalize_name(value: str) -> str:
    """A username or email as stored: NFKC, surrounding spaces removed (case kept)."""
    return unicodedata.normalize("NFKC", value).strip()


def login_key(login: str) -> str:
    """What a typed username or email is compared as: normalised and lower-cased."""
    return normalize_name(login).lower()


def find_user(login: str) -> User | None:
    """The user whose username or email is ``login`` (normalised, case-insensitive)."""
    name = login_key(login)
    query = select(User).where(or_(func.lower(User.username) == name, User.email == name))
    return db.session.scalar(query)
