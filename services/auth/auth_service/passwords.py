"""Password hashing (argon2id) and the password rules.

Hashing follows OWASP ASVS 5.0: argon2id with at least 46 MiB of memory and one pass. The
parameters come from the app's configuration; hashes made with older parameters are upgraded
the next time their owner logs in (see :func:`verify_password`).

The rules follow NIST SP 800-63B: a minimum length, a generous maximum, no composition rules,
and a refusal of the passwords attackers try first (``data/common-passwords.txt``).
"""

from __future__ import annotations

import secrets
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

MIN_LENGTH = 8
#: Long passphrases are welcome; the cap only keeps a megabyte "password" from costing CPU.
MAX_LENGTH = 128

#: ASVS 5.0 floor for argon2id: 46 MiB (47104 KiB), t=1, p=1.
FLOOR_MEMORY_KIB = 47104
FLOOR_TIME_COST = 1


@cache
def common_passwords() -> frozenset[str]:
    """The refused passwords, lower-cased (shipped as package data)."""
    text = files("auth_service").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why ``password`` is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords():
        return "This password is too common: attackers try it first. Choose another."
    personal = {username.lower(), email.lower(), email.lower().partition("@")[0]} - {""}
    if lowered in personal:
        return "Your password must not be your username or email address."
    return None


def hasher() -> PasswordHasher:
    """The argon2id hasher configured for the current app (built once per app)."""
    found = current_app.extensions.get("auth_service.hasher")
    if found is None:
        config = current_app.config
        found = PasswordHasher(
            time_cost=config["ARGON2_TIME_COST"],
            memory_cost=config["ARGON2_MEMORY_COST"],
            parallelism=config["ARGON2_PARALLELISM"],
        )
        current_app.extensions["auth_service.hasher"] = found
    assert isinstance(found, PasswordHasher)
    return found


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` with the current parameters."""
    return hasher().hash(password)


def init_passwords(app: Flask) -> None:
    """Make the dummy hash at start-up, so even the first unknown-user login costs the same."""
    with app.app_context():
        _dummy_hash()


def _dummy_hash() -> str:
    # A hash of a random password with the current parameters, made once per app, so that
    # checking an unknown username costs exactly what checking a wrong password costs.
    found = current_app.extensions.get("auth_service.dummy_hash")
    if found is None:
        found = hash_password(secrets.token_urlsafe(16))
        current_app.extensions["auth_service.dummy_hash"] = found
    assert isinstance(found, str)
    return found


def verify_password(password_hash: str | None, password: str) -> tuple[bool, str | None]:
    """Check ``password`` against ``password_hash`` (None: no such user, checked anyway).

    Returns ``(matches, new_hash)``: ``new_hash`` is set when the password matched but was
    hashed with other parameters than today's, and the caller should store it.
    """
    ph = hasher()
    try:
        ph.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if password_hash is None:  # pragma: no cover - a random password never matches
        return False, None
    if ph.check_needs_rehash(password_hash):
        return True, ph.hash(password)
    return True, None
