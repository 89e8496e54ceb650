"""Reading what the app queued: the outbox rows, and the links in them."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from auth_service.extensions import db
from auth_service.mail.models import OutboxMessage

LINK = re.compile(r"https?://[^\s/]+(/\S*)")


def outbox(app: Flask, recipient: str | None = None) -> list[OutboxMessage]:
    """Every queued message (for ``recipient``), oldest first, detached."""
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        messages = list(db.session.scalars(query))
        for message in messages:
            db.session.expunge(message)
        return messages


def last_link(app: Flask, recipient: str, kind: str) -> str:
    """The path of the first link in the newest ``kind`` message to ``recipient``."""
    found = [m for m in outbox(app, recipient) if m.kind == kind]
    assert found, f"no {kind} message to {recipient}"
    match = LINK.search(found[-1].text_body)
    assert match, "the message has no link"
    return match.group(1)
