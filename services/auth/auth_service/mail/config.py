"""Mail settings, read from the environment with the service's prefix (``AUTH_MAIL_...``)."""

from __future__ import annotations

from typing import Any

from servicekit.settings import ConfigError, Env

TRANSPORTS = ("smtp", "files")
#: How the SMTP connection is secured, and the port each way uses unless MAIL_SMTP_PORT says.
SMTP_SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def mail_config_from_env(env: Env) -> dict[str, Any]:
    """Flask configuration keys for outgoing email."""
    transport = env.optional("MAIL_TRANSPORT")
    if transport is not None and transport not in TRANSPORTS:
        raise ConfigError(f"AUTH_MAIL_TRANSPORT must be one of {', '.join(TRANSPORTS)}")
    security = env.text("MAIL_SMTP_SECURITY", "starttls")
    if security not in SMTP_SECURITY_PORTS:
        raise ConfigError(
            f"AUTH_MAIL_SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY_PORTS)}"
        )
    return {
        # None: files in development and tests, SMTP in production (see mail.transport).
        "MAIL_TRANSPORT": transport,
        "MAIL_FROM": env.text("MAIL_FROM", "Flask services <no-reply@localhost>"),
        "MAIL_SMTP_HOST": env.text("MAIL_SMTP_HOST", "localhost"),
        "MAIL_SMTP_PORT": env.integer("MAIL_SMTP_PORT", SMTP_SECURITY_PORTS[security], minimum=1),
        "MAIL_SMTP_SECURITY": security,
        "MAIL_SMTP_USERNAME": env.optional("MAIL_SMTP_USERNAME"),
        "MAIL_SMTP_PASSWORD": env.optional("MAIL_SMTP_PASSWORD"),
        "MAIL_SMTP_TIMEOUT": env.integer("MAIL_SMTP_TIMEOUT", 10, minimum=1),
        # The files transport: one .eml per message here (default: <instance>/mail).
        "MAIL_DIR": env.optional("MAIL_DIR"),
        # Retries: the n-th retry waits MAIL_RETRY_SECONDS * 2**(n-1); failed after the last.
        "MAIL_MAX_ATTEMPTS": env.integer("MAIL_MAX_ATTEMPTS", 8, minimum=1),
        "MAIL_RETRY_SECONDS": env.integer("MAIL_RETRY_SECONDS", 30, minimum=1),
        # How often the sender looks for due messages when the outbox was empty.
        "MAIL_POLL_SECONDS": env.integer("MAIL_POLL_SECONDS", 2, minimum=1),
    }
