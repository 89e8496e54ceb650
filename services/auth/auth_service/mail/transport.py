"""Where messages go: an SMTP server, or one ``.eml`` file each (development).

Both build the same RFC 5322 message (plain text with an HTML alternative) from an outbox row.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import sys
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from flask import Flask

from auth_service.mail.models import OutboxMessage
from servicekit.clock import utcnow

log = logging.getLogger("auth_service.mail")

LINK_PATTERN = re.compile(r"https?://\S+")


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    """The email for an outbox row: text body, HTML alternative, headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(utcnow())
    # Stable per row: a retry after a lost answer is recognisable as the same message.
    domain = sender.rpartition("@")[2].rstrip(">") or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"outbox-{row.id}", domain=domain)
    message.set_content(row.text_body)
    message.add_alternative(row.html_body, subtype="html")
    return message


class Transport(Protocol):
    """Delivers one message or raises (any exception counts as a failed attempt)."""

    def send(self, message: EmailMessage) -> None: ...


class SmtpTransport:
    """An SMTP server: plain, STARTTLS (port 587) or implicit TLS (port 465), optional login."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password, self.timeout = username, password, timeout

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class FileTransport:
    """One ``.eml`` file per message in ``directory``; subject, recipient and links echoed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S.%f")
        # Sorted by time, readable at a glance: 20261202T061037.122577-reset-your-password.eml
        name = re.sub(r"[^a-z0-9]+", "-", str(message["Subject"]).lower()).strip("-")[:60]
        path = self.directory / f"{stamp}-{name}.eml"
        path.write_bytes(message.as_bytes())
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        lines = [f"mail to {message['To']}: {message['Subject']}  ({path})"]
        lines += [f"    {url}" for url in LINK_PATTERN.findall(text)]
        # The console of `nox -s dev` is where a developer looks for the link to click.
        print("\n".join(lines), file=sys.stderr, flush=True)


def transport_for(app: Flask) -> Transport:
    """The transport the configuration asks for (files outside production by default)."""
    config = app.config
    kind = config["MAIL_TRANSPORT"] or ("smtp" if config["APP_ENV"] == "production" else "files")
    if kind == "files":
        directory = config["MAIL_DIR"] or str(Path(app.instance_path) / "mail")
        return FileTransport(Path(directory))
    return SmtpTransport(
        config["MAIL_SMTP_HOST"],
        config["MAIL_SMTP_PORT"],
        security=config["MAIL_SMTP_SECURITY"],
        username=config["MAIL_SMTP_USERNAME"],
        password=config["MAIL_SMTP_PASSWORD"],
        timeout=config["MAIL_SMTP_TIMEOUT"],
    )
