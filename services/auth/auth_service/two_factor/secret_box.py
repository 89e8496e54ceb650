"""Encryption at rest for the TOTP secrets (Fernet: AES-128-CBC with HMAC-SHA256).

A stolen database must not let anyone compute a user's codes, so each secret is stored
encrypted with a key that lives outside the database. Where the key comes from (first match):

* ``AUTH_TOTP_KEY``: the key itself;
* ``AUTH_TOTP_KEY_FILE``: a file holding it;
* otherwise, in development and testing only: ``<instance>/totp-key``, generated the first time.
  Production refuses to start without a key.

A key is a Fernet key (``python -m auth_service.two_factor.secret_box`` prints a new one).
Several keys, separated by spaces or new lines, allow rotation: the first encrypts, every one
decrypts; put the new key first, then re-encrypt or wait for the secrets to be renewed.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

from servicekit.settings import ConfigError

_EXTENSION_KEY = "auth_service.secret_box"


def _development_key(instance: Path) -> str:
    path = instance / "totp-key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text()
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode())
    return path.read_text()


def load_box(app: Flask) -> MultiFernet:
    """The keys named by the configuration (see the module docstring)."""
    config = app.config
    if config.get("AUTH_TOTP_KEY"):
        text, source = str(config["AUTH_TOTP_KEY"]), "AUTH_TOTP_KEY"
    elif config.get("AUTH_TOTP_KEY_FILE"):
        path = Path(config["AUTH_TOTP_KEY_FILE"])
        if not path.is_file():
            raise ConfigError(f"AUTH_TOTP_KEY_FILE {path} does not exist")
        text, source = path.read_text(), "AUTH_TOTP_KEY_FILE"
    elif config["APP_ENV"] == "production":
        raise ConfigError(
            "AUTH_TOTP_KEY_FILE (or AUTH_TOTP_KEY) is required in production: make a key with "
            "`python -m auth_service.two_factor.secret_box`"
        )
    else:
        text, source = _development_key(Path(app.instance_path)), "<instance>/totp-key"
    try:
        keys = [Fernet(key) for key in text.split()]
    except ValueError:
        raise ConfigError(f"{source} must hold Fernet keys (32 url-safe base64 bytes)") from None
    if not keys:
        raise ConfigError(f"{source} is empty")
    return MultiFernet(keys)


def init_secret_box(app: Flask) -> None:
    """Load the key at start-up, so a missing or bad key stops the app, not a request."""
    app.extensions[_EXTENSION_KEY] = load_box(app)


def encrypt(secret: str) -> str:
    """``secret`` encrypted with the current key."""
    box: MultiFernet = current_app.extensions[_EXTENSION_KEY]
    return box.encrypt(secret.encode()).decode()


def decrypt(stored: str) -> str:
    """The secret in ``stored``; a ValueError if no configured key opens it."""
    box: MultiFernet = current_app.extensions[_EXTENSION_KEY]
    try:
        return box.decrypt(stored.encode()).decode()
    except InvalidToken:
        raise ValueError("no AUTH_TOTP_KEY opens this secret (was the key replaced?)") from None


if __name__ == "__main__":  # pragma: no cover - a one-line helper for operators
    print(Fernet.generate_key().decode())
