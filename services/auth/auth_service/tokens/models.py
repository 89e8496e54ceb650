"""Personal access tokens, and the identity tokens each one was exchanged for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from auth_service.extensions import db
from servicekit.clock import utcnow


class PersonalToken(db.Model):  # type: ignore[name-defined,misc]
    """A credential for an API client: the text is shown once, only its SHA-256 is kept."""

    __tablename__ = "personal_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the token, so the owner can tell tokens apart in the list.
    hint: Mapped[str] = mapped_column(String(16))
    #: Space-separated, as in the identity token's ``scope`` claim (RFC 8693).
    scopes: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PersonalTokenExchange(db.Model):  # type: ignore[name-defined,misc]
    """An identity token issued for a personal token, kept until it expires: revoking the
    personal token revokes each of these by ``jti`` in the revocation store."""

    __tablename__ = "personal_token_exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("personal_tokens.id", ondelete="CASCADE"), index=True
    )
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    #: Unix time, as the revocation store takes it.
    expires_at: Mapped[float] = mapped_column(Float, index=True)
