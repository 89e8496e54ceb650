"""Recovery codes: the way in when the authenticator app is lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from auth_service.extensions import db


class RecoveryCode(db.Model):  # type: ignore[name-defined,misc]
    """One single-use recovery code, stored as a SHA-256 hash (see codes.py for why not argon2)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
