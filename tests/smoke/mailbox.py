"""The emails the running stack delivered, read where its SMTP server keeps them.

SMOKE_MAIL_DIR     native (deploy/native.py): one .eml file per message
SMOKE_MAILDEV_URL  containers: Maildev's REST API (GET /email lists every message)
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.smoke.web import csrf_token

MAIL_DIR = os.environ.get("SMOKE_MAIL_DIR", "")
MAILDEV_URL = os.environ.get("SMOKE_MAILDEV_URL", "")
LINK = re.compile(r"https?://[^\s/]+(/\S+)")


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    text: str

    @property
    def link(self) -> str:
        """The first link in the text, as sent (the public origin)."""
        match = re.search(r"https?://\S+", self.text)
        assert match, f"no link in {self.subject!r}"
        return match.group(0)

    @property
    def link_path(self) -> str:
        """The path of the first link in the text (the host is the public one, not ours)."""
        match = LINK.search(self.text)
        assert match, f"no link in {self.subject!r}"
        return match.group(1)


def _from_files(folder: Path) -> list[Mail]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
        found.append(Mail(str(message["To"]), str(message["Subject"]), text))
    return found


def _from_maildev(url: str) -> list[Mail]:
    import httpx

    try:
        items = httpx.get(f"{url.rstrip('/')}/email", timeout=10).json()
    except httpx.TransportError:  # stopped (or starting): it holds nothing we can read yet
        return []
    return [
        Mail(
            ", ".join(to["address"] for to in item.get("to", [])),
            item.get("subject", ""),
            item.get("text", ""),
        )
        for item in items
    ]


def delivered() -> list[Mail]:
    """Every message the SMTP server has accepted so far, oldest first."""
    if MAIL_DIR:
        return _from_files(Path(MAIL_DIR))
    if MAILDEV_URL:
        return _from_maildev(MAILDEV_URL)
    pytest.skip("the harness gives no mailbox to read (SMOKE_MAIL_DIR or SMOKE_MAILDEV_URL)")


def received(recipient: str, subject: str) -> list[Mail]:
    return [m for m in delivered() if m.recipient == recipient and m.subject == subject]


def wait_for_mail(recipient: str, subject: str, timeout: float = 30) -> Mail:
    """The newest message to ``recipient`` with ``subject``, waiting for the worker to send it."""
    deadline = time.monotonic() + timeout
    while not (found := received(recipient, subject)):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {subject!r} for {recipient} after {timeout}s")
        time.sleep(0.3)
    return found[-1]


def confirm_link(client: object, path: str) -> None:
    """Open an emailed confirmation link and press its button (the change is a POST)."""
    import httpx

    assert isinstance(client, httpx.Client)
    page = client.get(path)
    assert page.status_code == 200, page.text[:2000]
    response = client.post(path, data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302, response.text[:2000]


def verify_email(client: object, username: str) -> None:
    """Follow the verification link auth sent to ``username``'s address at registration."""
    mail = wait_for_mail(f"{username}@example.com", "Confirm your email address")
    confirm_link(client, mail.link_path)
