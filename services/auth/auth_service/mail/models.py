"""The outbox: one row per message, from the moment its cause is committed until delivery."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from auth_service.extensions import db
from servicekit.clock import utcnow

#: Waiting for (another) delivery attempt.
PENDING = "pending"
#: Accepted by the mail server (or written to a file).
SENT = "sent"
#: Every attempt failed: shown to admins, never retried by itself.
FAILED = "failed"


class OutboxMessage(db.Model):  # type: ignore[name-defined,misc]
    """A rendered email waiting to be delivered, delivered, or given up on."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: What kind of message (the template's name), for the admin page and the logs.
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When a sender may (re)try it; a claimed message is pushed ahead by a lease.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    #: The request that queued it: a failed delivery's log line points back to the change.
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The sender's query: due pending messages, oldest first.
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
