"""Queueing a message: render it now, store it in the outbox with the change that causes it."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, has_request_context, render_template, url_for

from auth_service.mail.models import OutboxMessage


def link(endpoint: str, **values: Any) -> str:
    """An absolute URL for an email: PUBLIC_URL when set, otherwise the request's own origin."""
    public = current_app.config["PUBLIC_URL"]
    if public:
        return str(public).rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def compose_mail(kind: str, recipient: str, subject: str, **context: Any) -> OutboxMessage:
    """An outbox row with ``mail/<kind>.txt`` and ``.html`` rendered, not yet in the session.

    The caller adds it with ``db.session.add`` and commits it together with the change that
    caused it (both or neither); only then can a sender see it.
    """
    context = {"subject": subject, **context}
    message = OutboxMessage(
        kind=kind,
        recipient=recipient,
        subject=subject,
        text_body=render_template(f"mail/{kind}.txt", **context),
        html_body=render_template(f"mail/{kind}.html", **context),
        request_id=g.get("request_id") if has_request_context() else None,
    )
    return message
