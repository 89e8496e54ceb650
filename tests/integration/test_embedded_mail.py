"""The embedded runner delivers auth's mail itself: .eml files in instance/mail/, no SMTP."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from pathlib import Path

from system.embedded import start_mail_sender
from tests.integration.harness import Browser, System


def test_registration_mail_lands_in_the_instance_mail_folder(
    system: System, tmp_path: Path
) -> None:
    folder = Path(system.environ["AUTH_MAIL_DIR"])
    assert folder == tmp_path / "instance" / "mail"  # beside the services' SQLite files
    stop = threading.Event()
    thread = start_mail_sender({"/auth": system.apps["auth"]}, stop)
    assert thread is not None
    try:
        assert Browser.register(system.browser(), "carol").status_code == 302
        deadline = time.monotonic() + 10
        while not list(folder.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    [path] = folder.glob("*.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "carol@example.com"
    assert message["Subject"] == "Confirm your email address"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "http://localhost/auth/verify/" in body.get_content()


def test_without_auth_no_sender_starts() -> None:
    assert start_mail_sender({}) is None


def test_emailed_links_work_behind_the_prefix(system: System) -> None:
    """The reset form of an emailed link posts back under /auth/, where the link pointed."""
    import re

    from auth_service.extensions import db
    from auth_service.mail.models import OutboxMessage

    system.browser().register("dave")
    browser = system.browser()
    browser.submit("/auth/password/forgot", "/auth/password/forgot", login="dave")
    with system.apps["auth"].app_context():
        body = db.session.scalars(
            db.select(OutboxMessage.text_body).where(OutboxMessage.kind == "password_reset")
        ).one()
    match = re.search(r"http://localhost(/auth/password/reset/\S+)", body)
    assert match
    path = match.group(1)
    assert f'action="{path}"' in browser.get(path).get_data(as_text=True)
    password = "a new passphrase for dave"
    done = browser.submit(path, path, password=password, confirm=password)
    assert done.status_code == 302
    assert done.headers["Location"] == "/auth/login"
    assert browser.log_in("dave", password).status_code == 302
