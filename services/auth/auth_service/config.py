"""The auth service's own settings, read from the environment (prefix ``AUTH_``).

The settings every service shares (SECRET_KEY, DATABASE_URL, ...) come from
:class:`servicekit.settings.Settings`; this module adds what only auth needs. Every variable is
listed in the README.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from auth_service.mail.config import mail_config_from_env
from auth_service.passwords import FLOOR_MEMORY_KIB, FLOOR_TIME_COST
from servicekit.settings import ConfigError, Env


def auth_config_from_env(env: Env) -> dict[str, Any]:
    """Flask configuration keys for the auth service, from the environment (and overrides)."""
    return {
        # Signing keys: see auth_service.signing.
        "AUTH_SIGNING_KEY": env.optional("SIGNING_KEY"),
        "AUTH_SIGNING_KEY_FILE": env.optional("SIGNING_KEY_FILE"),
        # Identity tokens are short-lived: the browser gets a fresh one silently from
        # /auth/login?next=... while its auth session lasts.
        "AUTH_TOKEN_LIFETIME": env.integer("TOKEN_LIFETIME", 900, minimum=30),
        "ARGON2_MEMORY_COST": env.integer("ARGON2_MEMORY_COST", FLOOR_MEMORY_KIB, minimum=8),
        "ARGON2_TIME_COST": env.integer("ARGON2_TIME_COST", FLOOR_TIME_COST, minimum=1),
        "ARGON2_PARALLELISM": env.integer("ARGON2_PARALLELISM", 1, minimum=1),
        # Flask-Limiter notation. Both count every attempt, counted before the password is
        # checked (auth_service.ratelimits says why successes count too).
        "LOGIN_RATE_LIMIT_ACCOUNT": env.text("LOGIN_RATE_LIMIT_ACCOUNT", "5 per minute"),
        "LOGIN_RATE_LIMIT_IP": env.text("LOGIN_RATE_LIMIT_IP", "30 per minute"),
        "REGISTER_RATE_LIMIT_IP": env.text("REGISTER_RATE_LIMIT_IP", "10 per hour"),
        # How often each worker checks that Redis still holds every revocation mark (and
        # copies them back from the database when it does not): auth_service.revocations.
        "AUTH_REVOCATION_CHECK_SECONDS": env.integer("REVOCATION_CHECK_SECONDS", 1, minimum=1),
        "REMEMBER_COOKIE_DAYS": env.integer("REMEMBER_COOKIE_DAYS", 14, minimum=1),
        "USERS_PER_PAGE": env.integer("USERS_PER_PAGE", 20, minimum=1),
        # Two-factor sign-in: the key that encrypts TOTP secrets (two_factor/secret_box.py),
        # the name authenticator apps show, how long the code step waits, how fast it is guessed.
        "AUTH_TOTP_KEY": env.optional("TOTP_KEY"),
        "AUTH_TOTP_KEY_FILE": env.optional("TOTP_KEY_FILE"),
        "TWO_FACTOR_ISSUER": env.text("TWO_FACTOR_ISSUER", "Flask services"),
        "TWO_FACTOR_LOGIN_SECONDS": env.integer("TWO_FACTOR_LOGIN_SECONDS", 300, minimum=30),
        "TWO_FACTOR_RATE_LIMIT": env.text("TWO_FACTOR_RATE_LIMIT", "5 per minute"),
        # Links in emails start with this origin (https://example.com); unset: the request's.
        # Set it in production: a forged Host header must not choose where a reset link points.
        "PUBLIC_URL": env.optional("PUBLIC_URL"),
        # Account links sent by email (auth_service.links): how long each kind stays valid.
        "PASSWORD_RESET_MAX_AGE": env.integer("PASSWORD_RESET_MAX_AGE", 3600, minimum=60),
        "EMAIL_LINK_MAX_AGE": env.integer("EMAIL_LINK_MAX_AGE", 2 * 24 * 3600, minimum=60),
        "PASSWORD_RESET_RATE_LIMIT_IP": env.text("PASSWORD_RESET_RATE_LIMIT_IP", "10 per hour"),
        "PASSWORD_RESET_RATE_LIMIT_ACCOUNT": env.text(
            "PASSWORD_RESET_RATE_LIMIT_ACCOUNT", "3 per hour"
        ),
        "VERIFICATION_RATE_LIMIT": env.text("VERIFICATION_RATE_LIMIT", "3 per hour"),
        # Whether an admin may make someone author (or admin) before they verified their email.
        "UNVERIFIED_AUTHORS": env.flag("UNVERIFIED_AUTHORS", False),
        **mail_config_from_env(env),
    }


def check_password_hashing(app: Flask) -> None:
    """Refuse argon2 parameters under the ASVS floor, except in the test suite."""
    config = app.config
    if config["APP_ENV"] == "testing":
        return
    if config["ARGON2_MEMORY_COST"] < FLOOR_MEMORY_KIB or config["ARGON2_TIME_COST"] < 1:
        raise ConfigError(
            f"AUTH_ARGON2_MEMORY_COST must be >= {FLOOR_MEMORY_KIB} KiB (OWASP ASVS 5.0); "
            "cheaper parameters are for APP_ENV=testing only"
        )
