"""The outbox and its sender: files and SMTP transports, retries with backoff, failures."""

from __future__ import annotations

import email
import email.policy
import logging
import os
import socket
import threading
from datetime import UTC, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth_service.emails import password_changed_mail
from auth_service.extensions import db
from auth_service.mail.models import FAILED, SENT, OutboxMessage
from auth_service.mail.sender import LEASE, claim_due, deliver_due, run_sender
from auth_service.mail.transport import FileTransport, SmtpTransport, transport_for
from servicekit.clock import utcnow
from tests.support import AppFactory, login, make_user, outbox, post_form


def queue_reset(client: FlaskClient, name: str = "alice") -> None:
    assert post_form(client, "/password/forgot", login=name).status_code == 302


class Failing:
    """A transport whose server is down."""

    def send(self, message: EmailMessage) -> None:
        raise ConnectionRefusedError("connection refused")


def make_due(app: Flask) -> None:
    """Time passes: every pending message is due now."""
    with app.app_context():
        db.session.execute(update(OutboxMessage).values(next_attempt_at=utcnow()))
        db.session.commit()


def test_send_mail_once_writes_an_eml_file_per_message(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "mail"
    app = app_factory({"MAIL_DIR": str(folder)})
    make_user(app, "alice")
    queue_reset(app.test_client())

    result = app.test_cli_runner().invoke(args=["send-mail", "--once"])
    assert result.exit_code == 0, result.output

    [path] = folder.glob("*.eml")
    assert path.name.endswith("-reset-your-password.eml")  # sorted by time, named by subject
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "alice@example.com"
    assert parsed["Subject"] == "Reset your password"
    assert parsed["From"] == "Flask services <no-reply@localhost>"
    assert parsed["Message-ID"]
    assert parsed["Date"]
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert text is not None
    assert "/password/reset/" in text.get_content()
    assert html is not None
    assert "<a href=" in html.get_content()
    # The console says what a developer needs: recipient, subject, the link to click.
    console = result.output
    assert "mail to alice@example.com: Reset your password" in console
    assert "http://localhost/password/reset/" in console
    [message] = outbox(app)
    assert (message.status, message.attempts) == (SENT, 1)
    assert message.sent_at is not None


def test_files_outside_production_and_smtp_in_production(app: Flask, tmp_path: Path) -> None:
    assert isinstance(transport_for(app), FileTransport)
    assert transport_for(app).directory == Path(app.instance_path) / "mail"  # type: ignore[union-attr]
    app.config.update(APP_ENV="production")
    smtp = transport_for(app)
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.host, smtp.port, smtp.security) == ("localhost", 587, "starttls")


def test_smtp_settings_come_from_the_environment(app_factory: AppFactory) -> None:
    app = app_factory(
        environ={
            "AUTH_MAIL_TRANSPORT": "smtp",
            "AUTH_MAIL_SMTP_HOST": "mail.example.com",
            "AUTH_MAIL_SMTP_SECURITY": "tls",
            "AUTH_MAIL_SMTP_USERNAME": "robot",
            "AUTH_MAIL_SMTP_PASSWORD": "s3cret",
            "AUTH_MAIL_SMTP_TIMEOUT": "5",
        }
    )
    smtp = transport_for(app)
    assert isinstance(smtp, SmtpTransport)
    assert (smtp.host, smtp.port, smtp.security) == ("mail.example.com", 465, "tls")
    assert (smtp.username, smtp.password, smtp.timeout) == ("robot", "s3cret", 5)


def test_bad_mail_settings_are_refused_at_start(app_factory: AppFactory) -> None:
    from servicekit.settings import ConfigError

    with pytest.raises(ConfigError, match="MAIL_SMTP_SECURITY"):
        app_factory(environ={"AUTH_MAIL_SMTP_SECURITY": "ssl3"})
    with pytest.raises(ConfigError, match="MAIL_TRANSPORT"):
        app_factory(environ={"AUTH_MAIL_TRANSPORT": "pigeon"})


def test_smtp_delivers_to_a_real_server(app: Flask, client: FlaskClient) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received: list[EmailMessage] = []

    class Collect(Message):  # type: ignore[misc]
        def handle_message(self, message: EmailMessage) -> None:
            received.append(message)

    with socket.socket() as probe:  # a free port (aiosmtpd's Controller cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        make_user(app, "alice")
        queue_reset(client)
        smtp = SmtpTransport("127.0.0.1", port, security="none", timeout=5)
        with app.app_context():
            assert deliver_due(smtp) == 1
    finally:
        controller.stop()
    [message] = received
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Reset your password"
    assert outbox(app)[0].status == SENT


def test_a_failed_delivery_is_retried_with_backoff_then_marked_failed(
    app_factory: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = app_factory({"MAIL_MAX_ATTEMPTS": 3, "MAIL_RETRY_SECONDS": 10})
    make_user(app, "alice")
    queue_reset(app.test_client())
    [queued] = outbox(app)
    caplog.set_level(logging.WARNING, logger="auth_service.mail")

    delays = []
    for _attempt in range(3):
        with app.app_context():
            before = utcnow()
            assert deliver_due(Failing()) == 1
            assert deliver_due(Failing()) == 0  # not due again yet
        [message] = outbox(app)
        delays.append(
            round((message.next_attempt_at.replace(tzinfo=before.tzinfo) - before).total_seconds())
        )
        make_due(app)

    [message] = outbox(app)
    assert (message.status, message.attempts) == (FAILED, 3)
    assert message.last_error == "ConnectionRefusedError: connection refused"
    assert delays[:2] == [10, 20]  # backoff doubles; the third try was the last
    records = [r for r in caplog.records if r.name == "auth_service.mail"]
    assert [r.getMessage() for r in records] == ["mail_retry", "mail_retry", "mail_failed"]
    assert {getattr(r, "request_id", None) for r in records} == {queued.request_id}
    assert records[-1].levelno == logging.ERROR
    with app.app_context():
        assert deliver_due(Failing()) == 0  # failed for good: never retried by itself


def test_admins_see_failed_messages(app_factory: AppFactory) -> None:
    app = app_factory({"MAIL_MAX_ATTEMPTS": 1})
    make_user(app, "alice")
    make_user(app, "root", roles=("reader", "author", "admin"))
    client = app.test_client()
    queue_reset(client)
    with app.app_context():
        deliver_due(Failing())
    queue_reset(client, "root")  # a second one, still pending
    [failed, _pending] = outbox(app)
    login(client, "root")
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "1 message waiting" in page
    assert "alice@example.com" in page
    assert "ConnectionRefusedError" in page
    assert failed.request_id is not None
    assert failed.request_id in page
    assert 'href="/admin/mail"' in page
    login_as_reader = app.test_client()
    login(login_as_reader)
    assert login_as_reader.get("/admin/mail").status_code == 403


def test_a_claim_is_leased_so_two_senders_never_take_the_same_message(
    app: Flask, client: FlaskClient
) -> None:
    make_user(app, "alice")
    queue_reset(client)
    with app.app_context():
        [first] = claim_due()
        assert first.attempts == 1
        leased_until = first.next_attempt_at.replace(tzinfo=UTC)  # SQLite forgets the zone
        assert leased_until > utcnow() + LEASE - timedelta(seconds=5)
        assert claim_due() == []  # leased to the first sender
    make_due(app)  # the first sender died: once the lease ends, another one retries
    with app.app_context():
        [again] = claim_due()
        assert again.attempts == 2


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="FOR UPDATE SKIP LOCKED: PostgreSQL only (nox -s postgres)",
)
def test_on_postgres_a_sender_skips_what_another_holds(app: Flask, client: FlaskClient) -> None:
    make_user(app, "alice")
    make_user(app, "bob")
    queue_reset(client, "alice")
    queue_reset(client, "bob")
    with app.app_context():
        other_sender = Session(db.engine)
        try:
            query = select(OutboxMessage).order_by(OutboxMessage.id).limit(1).with_for_update()
            [held] = other_sender.scalars(query).all()  # locked until that transaction ends
            claimed = claim_due()  # does not wait for the lock: takes the next one
            assert [m.recipient for m in claimed] == ["bob@example.com"]
            assert held.recipient == "alice@example.com"
        finally:
            other_sender.rollback()
            other_sender.close()


def test_the_loop_delivers_until_stopped(app_factory: AppFactory, tmp_path: Path) -> None:
    app = app_factory({"MAIL_DIR": str(tmp_path / "mail"), "MAIL_POLL_SECONDS": 1})
    make_user(app, "alice")
    stop = threading.Event()
    heartbeat = tmp_path / "alive"
    thread = threading.Thread(
        target=run_sender, args=(app,), kwargs={"stop": stop, "heartbeat": heartbeat}
    )
    thread.start()
    try:
        queue_reset(app.test_client())
        for _ in range(100):
            if list((tmp_path / "mail").glob("*.eml")):
                break
            stop.wait(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [m.status for m in outbox(app)] == [SENT]
    assert heartbeat.exists()  # the container health check reads its modification time


def test_a_message_rolled_back_with_its_change_is_never_sent(app: Flask) -> None:
    alice = make_user(app, "alice")
    with app.test_request_context():
        db.session.add(password_changed_mail(alice))
        db.session.rollback()  # the change failed: its email goes with it
    assert outbox(app) == []
