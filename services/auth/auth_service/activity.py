"""Security activity: the events a user (and an admin) can review on the account pages.

Sign-ins, failed attempts, two-factor changes, token creation and revocation, password and
email changes are stored, one row each, with the time, the client's address and browser. The
account page shows a user their latest events, so they can spot a sign-in that was not theirs;
admins see them per user. Each event is also logged (auth_service.events) for operators.

Only names and ids go into ``details``: never a password, a code or a token.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from auth_service.events import auth_event
from auth_service.extensions import db
from auth_service.models import User
from servicekit.clock import utcnow

#: What each stored kind means, in the words the account page uses.
DESCRIPTIONS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in (wrong password)",
    "two_factor_failed": "Failed sign-in (wrong two-factor code)",
    "recovery_code_used": "Signed in with a recovery code",
    "two_factor_enabled": "Two-factor sign-in turned on",
    "two_factor_disabled": "Two-factor sign-in turned off",
    "recovery_codes_renewed": "New recovery codes made",
    "token_created": "Personal access token created",
    "token_revoked": "Personal access token revoked",
    "password_changed": "Password changed",
    "email_changed": "Email address changed",
    "email_change_requested": "Email change asked for (applies when the emailed link is followed)",
    "email_verified": "Email address verified",
    "password_reset_requested": "Password reset link emailed",
    "password_reset": "Password reset from an emailed link",
    "session_ended": "A signed-in device was signed out",
    "deactivated": "Account deactivated",
    "reactivated": "Account reactivated by an administrator",
    "roles_changed": "Roles changed by an administrator",
}

#: How many events the account page and the admin page show.
RECENT = 20

USER_AGENT_LENGTH = 255


class SecurityEvent(db.Model):  # type: ignore[name-defined,misc]
    """Something that happened to an account, with where it came from."""

    __tablename__ = "security_events"
    __table_args__ = (Index("ix_security_events_user_time", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @property
    def description(self) -> str:
        """The event in words."""
        return DESCRIPTIONS.get(self.kind, self.kind.replace("_", " ").capitalize())


def client_details() -> tuple[str | None, str | None]:
    """The client's address (corrected by ProxyFix behind nginx) and its User-Agent, trimmed."""
    if not has_request_context():
        return None, None
    agent = request.headers.get("User-Agent", "")[:USER_AGENT_LENGTH] or None
    return request.remote_addr, agent


def record_event(kind: str, user: User, **details: Any) -> SecurityEvent:
    """Store ``kind`` for ``user`` and log it. Commits: the event is kept even if the request
    fails afterwards (a failed sign-in must be recorded although nothing else changes)."""
    ip, agent = client_details()
    event = SecurityEvent(user_id=user.id, kind=kind, ip=ip, user_agent=agent, details=details)
    db.session.add(event)
    db.session.commit()
    auth_event(kind, user, **details)
    return event


def recent_events(user_id: int, limit: int = RECENT) -> list[SecurityEvent]:
    """The user's latest events, newest first."""
    query = (
        select(SecurityEvent)
        .where(SecurityEvent.user_id == user_id)
        .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))
