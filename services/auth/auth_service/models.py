"""The auth service's data: users, their password hashes, roles and session version.

The tables of each feature live with it: signed-in devices in ``devices/models.py``, recovery
codes in ``two_factor/models.py``, personal access tokens in ``tokens/models.py``, security
events in ``activity.py``. Revoked tokens (:class:`RevokedToken`) live here, next to the user
mark they complete: both are what ``revocations.py`` copies to Redis.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from auth_service.extensions import db
from servicekit.claims import ROLES, passes_role_check
from servicekit.clock import utcnow

#: Everyone who registers is a reader (the roles themselves: servicekit.claims.ROLES).
DEFAULT_ROLES = ("reader",)


def new_session_token() -> str:
    """A fresh, unguessable session version for Flask-Login's alternative id."""
    return secrets.token_urlsafe(24)


class User(db.Model):  # type: ignore[name-defined,misc]
    """An account. Flask-Login user: ``get_id`` returns the session token, not the primary key.

    That is Flask-Login's "alternative id" pattern: the session cookie and the remember-me cookie
    hold ``session_token``, so replacing it (logout, password change, deactivation, role change)
    makes every cookie issued before useless, on every device.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: As typed (NFKC-normalised), shown as such; unique ignoring case (index below).
    username: Mapped[str] = mapped_column(String(32), unique=True)
    #: Kept lower-cased, so uniqueness and look-ups ignore case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Space-separated role names from ROLES; use the ``roles`` property.
    role_names: Mapped[str] = mapped_column(String(64), default=" ".join(DEFAULT_ROLES))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Two-factor sign-in (see two_factor/): the TOTP secret, encrypted (never stored in clear);
    #: it is set while being confirmed, and two-factor is on once ``totp_enabled_at`` is set.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The time step of the last code accepted: a code is refused unless its step is later,
    #: so a code seen over someone's shoulder cannot be used again within its window.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Identity tokens issued before this Unix time (sub-second) are revoked: the durable copy
    #: of the mark every verifier reads from Redis (auth_service.revocations).
    tokens_valid_after: Mapped[float | None] = mapped_column(Float)
    #: When the owner followed a link sent to ``email``; None: not verified (yet).
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Optimistic locking: an admin's stale form cannot overwrite a newer change.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    #: The signed-in device this request belongs to (not stored here: see devices/models.py).
    #: Set by the user loader and by start_session; part of what the cookies hold. A plain
    #: attribute, not a column: ``__allow_unmapped__`` tells SQLAlchemy to leave it alone.
    __allow_unmapped__ = True
    device_key: str | None = None

    # -- Flask-Login ----------------------------------------------------------------------------

    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses to sign in, or keep signed in, a deactivated user."""
        return self.active

    def get_id(self) -> str:
        """What the session and remember-me cookies hold: ``<session version>.<device key>``.

        The session version ends every session at once; the device key lets one device's
        session be ended alone (the user loader checks both).
        """
        return f"{self.session_token}.{self.device_key}"

    @property
    def two_factor_enabled(self) -> bool:
        """Whether signing in needs a code from the user's authenticator app."""
        return self.totp_enabled_at is not None

    def end_sessions(self, at: float | None = None) -> None:
        """Invalidate every session, remember-me cookie and identity token issued before ``at``
        (default: now).

        Commit to apply; then publish the mark (auth_service.revocations.publish_mark).
        """
        self.session_token = new_session_token()
        moment = time.time() if at is None else at
        self.tokens_valid_after = max(moment, self.tokens_valid_after or moment)

    @property
    def email_verified(self) -> bool:
        """Whether the current email address was confirmed by following a link sent to it."""
        return self.email_verified_at is not None

    # -- roles ----------------------------------------------------------------------------------

    @property
    def roles(self) -> list[str]:
        """The user's roles, in the order of ROLES."""
        names = set(self.role_names.split())
        return [role for role in ROLES if role in names]

    @roles.setter
    def roles(self, roles: list[str] | tuple[str, ...] | set[str]) -> None:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        # Everyone is at least a reader; the order is fixed so equal sets compare equal.
        wanted = set(roles) | set(DEFAULT_ROLES)
        self.role_names = " ".join(role for role in ROLES if role in wanted)

    def has_role(self, *roles: str) -> bool:
        """Whether the user has one of ``roles``; an admin passes every role check."""
        return passes_role_check(self.roles, *roles)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


# Unique ignoring case in the database itself: two registrations of "Frank" and "frank" at the
# same moment both pass the Python check, and only one may be committed. (Emails are stored
# lower-cased already; the index makes that a guarantee rather than a habit.)
Index("uq_users_username_lower", func.lower(User.username), unique=True)
Index("uq_users_email_lower", func.lower(User.email), unique=True)


class RevokedToken(db.Model):  # type: ignore[name-defined,misc]
    """One identity token revoked on its own (one device ended, a personal token revoked).

    Written in the same commit as the change that revokes it, so the revocation holds even if
    Redis never heard of it: the republisher copies every row not yet expired back to Redis
    (auth_service.revocations). A row is useless once its token has expired, and is deleted.
    """

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: Unix time, as the revocation store takes it.
    expires_at: Mapped[float] = mapped_column(Float, index=True)
