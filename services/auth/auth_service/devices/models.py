"""One row per signed-in device (browser) of a user."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from auth_service.extensions import db
from servicekit.clock import utcnow


def new_device_key() -> str:
    """The unguessable name of a device's session, kept in its cookies."""
    return secrets.token_urlsafe(16)


class Device(db.Model):  # type: ignore[name-defined,misc]
    """A browser signed in to an account: made at sign-in, ended by sign-out or from the list.

    The session and remember-me cookies hold the device ``key`` (see ``User.get_id``), so
    ending this row ends that browser's session, and only that one. The browser's latest
    identity token (``token_jti``) is revoked with it, so the blog signs it out too.
    """

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True, default=new_device_key)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    token_jti: Mapped[str | None] = mapped_column(String(64))
    #: Unix time, as the revocation store takes it.
    token_expires_at: Mapped[float | None] = mapped_column(Float)
