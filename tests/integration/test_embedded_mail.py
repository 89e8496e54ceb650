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
