"""Delivering the outbox: claim due messages, send them, retry with backoff, give up loudly.

Several senders may run at once (one worker container per replica, or a second by mistake):
a claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so each due row goes to one
sender, and the claim pushes the row's next attempt ahead by a lease before the lock is
released. A sender that dies while sending leaves the row to be retried when the lease ends:
a message may, rarely, be delivered twice, but it is never lost. SQLite ignores FOR UPDATE;
there one process sends (the embedded runner's thread, or one ``flask send-mail``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select

from auth_service.extensions import db
from auth_service.mail.models import FAILED, PENDING, SENT, OutboxMessage
from auth_service.mail.transport import Transport, build_message, transport_for
from servicekit.clock import utcnow

log = logging.getLogger("auth_service.mail")

#: A claimed message belongs to its sender this long; longer than any SMTP conversation.
LEASE = timedelta(minutes=5)
#: Messages claimed per round trip.
BATCH = 20


def claim_due(limit: int = BATCH) -> list[OutboxMessage]:
    """Due pending messages, oldest first, marked as being tried (one attempt more). Commits."""
    now = utcnow()
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(db.session.scalars(query))
    for message in claimed:
        message.attempts += 1
        message.next_attempt_at = now + LEASE
    db.session.commit()
    return claimed


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: MAIL_RETRY_SECONDS after the first failure, doubling after each."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return timedelta(seconds=base * 2 ** (attempts - 1))


def deliver(message: OutboxMessage, transport: Transport) -> bool:
    """Try one claimed message; record the outcome (commits). True when it was delivered."""
    config = current_app.config
    try:
        transport.send(build_message(message, config["MAIL_FROM"]))
    except Exception as error:  # any failure is one failed attempt, never the sender's end
        message.last_error = f"{type(error).__name__}: {error}"[:500]
        final = message.attempts >= config["MAIL_MAX_ATTEMPTS"]
        if final:
            message.status = FAILED
        else:
            message.next_attempt_at = utcnow() + retry_delay(message.attempts)
        db.session.commit()
        log.log(
            logging.ERROR if final else logging.WARNING,
            "mail_failed" if final else "mail_retry",
            extra={
                "event": "mail_failed" if final else "mail_retry",
                "outbox_id": message.id,
                "kind": message.kind,
                "attempt": message.attempts,
                "error": message.last_error,
                # The request that queued it: its log lines tell what change this was.
                "request_id": message.request_id,
            },
        )
        return False
    message.status = SENT
    message.sent_at = utcnow()
    message.last_error = None
    db.session.commit()
    log.info(
        "mail_sent",
        extra={
            "event": "mail_sent",
            "outbox_id": message.id,
            "kind": message.kind,
            "attempt": message.attempts,
            "request_id": message.request_id,
        },
    )
    return True


def deliver_due(
    transport: Transport | None = None, heartbeat: Callable[[], None] = lambda: None
) -> int:
    """Deliver every message that is due now (in batches); how many were tried.

    ``heartbeat`` is called after each message: a slow mail server is not a hung sender.
    """
    transport = transport or transport_for(current_app._get_current_object())  # type: ignore[attr-defined]
    tried = 0
    while claimed := claim_due():
        for message in claimed:
            deliver(message, transport)
            heartbeat()
        tried += len(claimed)
    return tried


def run_sender(
    app: Flask,
    *,
    once: bool = False,
    stop: threading.Event | None = None,
    heartbeat: Path | None = None,
) -> None:
    """Deliver due messages; with ``once`` a single pass, else until ``stop`` is set.

    The loop survives a database or mail server outage: it logs, waits, and tries again. With
    ``heartbeat``, that file's modification time says the loop is alive (a container health
    check reads it: the worker has no port to ask).
    """
    stop = stop or threading.Event()
    transport = transport_for(app)

    def beat() -> None:
        if heartbeat is not None:
            heartbeat.touch()

    while True:
        tried = 0
        beat()
        with app.app_context():
            try:
                tried = deliver_due(transport, beat)
            except Exception:
                if once:
                    raise
                db.session.rollback()
                log.exception("mail sender pass failed; trying again")
            finally:
                db.session.remove()
        if once or stop.is_set():
            return
        if not tried:
            stop.wait(app.config["MAIL_POLL_SECONDS"])


def start_background_sender(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Run the sender in a daemon thread of this process (the embedded development runner)."""
    thread = threading.Thread(
        target=run_sender, args=(app,), kwargs={"stop": stop}, name="auth-mail-sender", daemon=True
    )
    thread.start()
    return thread
