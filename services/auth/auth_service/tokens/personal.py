"""Making, using and revoking personal access tokens.

A personal token is never a bearer token for the api itself: a client exchanges it at
``POST /auth/api/token`` (``grant_type=personal_access_token``) for a short-lived identity
token that carries the personal token's ``scope`` and its id (``pat``). So the api keeps
verifying one kind of token locally, and a revoked personal token stops working everywhere
within one exchange: its unexpired identity tokens are revoked by ``jti`` at once, durably
(recorded in the same commit as the revocation, then published: auth_service.revocations).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from auth_service.digests import digest
from auth_service.extensions import db
from auth_service.models import User
from auth_service.revocations import publish_revoked_tokens, record_revoked_tokens
from auth_service.sessions import as_utc
from auth_service.signing import IssuedToken, issue_token
from auth_service.tokens.models import PersonalToken, PersonalTokenExchange
from auth_service.tokens.scopes import SCOPES
from servicekit.clock import utcnow

#: Tokens start with this, so secret scanners (and people) recognise one in a leaked file.
PREFIX = "fsat_"
MAX_LIFETIME = timedelta(days=365)


def create_token(
    user: User, name: str, scopes: Iterable[str], lifetime: timedelta
) -> tuple[PersonalToken, str]:
    """A new token for ``user``; returns the row and the token text (shown once). Commits."""
    wanted = sorted(set(scopes))
    unknown = set(wanted) - set(SCOPES)
    if unknown or not wanted:
        raise ValueError(f"unknown or no scopes: {sorted(unknown)}")
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError("a personal token lives at most one year")
    text = PREFIX + secrets.token_urlsafe(32)  # 256 bits
    row = PersonalToken(
        user_id=user.id,
        name=name,
        token_hash=digest(text),
        hint=text[: len(PREFIX) + 4],
        scopes=" ".join(wanted),
        expires_at=utcnow() + lifetime,
    )
    db.session.add(row)
    db.session.commit()
    return row, text


def is_usable(row: PersonalToken, now: datetime | None = None) -> bool:
    """Not revoked and not expired."""
    return row.revoked_at is None and as_utc(row.expires_at) > (now or utcnow())


def find_usable(text: str) -> tuple[PersonalToken, User] | None:
    """The usable token with this text and its active owner, or None."""
    if not text.startswith(PREFIX) or len(text) > 100:
        return None
    query = (
        select(PersonalToken, User)
        .join(User, User.id == PersonalToken.user_id)
        .where(PersonalToken.token_hash == digest(text))
    )
    found = db.session.execute(query).first()
    if found is None:
        return None
    row, user = found
    if not is_usable(row) or not user.active:
        return None
    return row, user


def exchange(row: PersonalToken, user: User) -> IssuedToken:
    """A short-lived identity token limited to the personal token's scopes. Commits."""
    issued = issue_token(user.id, user.username, user.roles, scope=row.scopes, pat=row.id)
    now = time.time()
    # Forget exchanges whose tokens have expired: nothing is left to revoke.
    db.session.execute(delete(PersonalTokenExchange).where(PersonalTokenExchange.expires_at < now))
    db.session.add(
        PersonalTokenExchange(token_id=row.id, jti=issued.jti, expires_at=issued.expires_at)
    )
    row.last_used_at = utcnow()
    db.session.commit()
    return issued


def revoke(row: PersonalToken) -> bool:
    """Stop the token, and every identity token it was exchanged for. Commits.

    Returns whether the revocation reached Redis already (if not, it will: it is committed).
    """
    # A conditional UPDATE: of two requests revoking it at once, only the first goes on.
    first = db.session.execute(
        update(PersonalToken)
        .where(PersonalToken.id == row.id, PersonalToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .returning(PersonalToken.id)
    ).first()
    if first is None:
        return True  # revoked already, by the request that got there first
    exchanged = db.session.execute(
        select(PersonalTokenExchange.jti, PersonalTokenExchange.expires_at).where(
            PersonalTokenExchange.token_id == row.id,
            PersonalTokenExchange.expires_at > time.time(),
        )
    )
    revoked = record_revoked_tokens(row.user_id, [(jti, expires) for jti, expires in exchanged])
    db.session.commit()
    return publish_revoked_tokens(revoked)


def tokens_of(user: User) -> list[PersonalToken]:
    """The user's tokens, newest first (revoked and expired ones too, marked as such)."""
    query = (
        select(PersonalToken)
        .where(PersonalToken.user_id == user.id)
        .order_by(PersonalToken.created_at.desc(), PersonalToken.id.desc())
    )
    return list(db.session.scalars(query))
