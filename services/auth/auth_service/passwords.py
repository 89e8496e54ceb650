"""Password hashing (argon2id) and the password rules.

Hashing follows OWASP ASVS 5.0: argon2id with at least 46 MiB of memory and one pass. The
parameters come from the app's configuration; hashes made with older parameters are upgraded
the next time their owner logs in (see :func:`verify_password`).

The rules follow NIST SP 800-63B: a minimum length, a generous maximum, no composition rules,
and a refusal of the passwords attackers try first (``data/common-passwords.txt``). As it
recommends for Unicode passwords (section 5.1.1.2), a password is normalised with NFKC before
it is checked against the rules, hashed or verified: "é" typed as one code point or as "e" and
a combining accent, on two keyboards, is the same password. Hashes made before normalisation
hold the password as typed; :func:`verify_password` tries that form too and upgrades the hash.
"""

from __future__ import annotations

import secrets
import unicodedata
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


def normalize_password(password: str) -> str:
    """The form of ``password`` that is hashed and measured: NFKC (NIST SP 800-63B)."""
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why ``password`` is not acceptable, or None when it is."""
    password = normalize_password(password)
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
    """An argon2id hash of ``password`` (normalised) with the current parameters."""
    return hasher().hash(normalize_password(password))


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
    hashed with other parameters than today's, or before passwords were normalised, and the
    caller should store it.
    """
    ph = hasher()
    normalized = normalize_password(password)
    stored = password_hash or _dummy_hash()
    matches = _matches(ph, stored, normalized)
    # Only a password that normalisation changes can have an older, as-typed hash; checking
    # it for unknown users too keeps the cost independent of whether the account exists.
    typed_form = not matches and normalized != password and _matches(ph, stored, password)
    if password_hash is None or not (matches or typed_form):
        return False, None
    if typed_form or ph.check_needs_rehash(password_hash):
        return True, ph.hash(normalized)
    return True, None


def _matches(ph: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return ph.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
