"""The blog's own settings, read from the environment (``BLOG_<NAME>`` first, then ``<NAME>``).

The settings every service shares (secret key, database, identity...) come from
``servicekit.settings.Settings``; these are the ones only the blog has. Each is listed in the
README's table.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from servicekit.devidentity import development_jwks_file
from servicekit.settings import Env


def blog_config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The blog's Flask configuration from the environment."""
    env = Env("blog", environ)
    config: dict[str, Any] = {
        "BLOG_TITLE": env.text("TITLE", "Flask services blog"),
        "BLOG_POSTS_PER_PAGE": env.integer("POSTS_PER_PAGE", 10, minimum=1),
        "BLOG_MAX_IMAGE_BYTES": env.integer("MAX_IMAGE_BYTES", 2 * 1024 * 1024, minimum=1024),
        "BLOG_MAX_IMAGE_PIXELS": env.integer("MAX_IMAGE_PIXELS", 40_000_000, minimum=1),
        # Flask-Limiter syntax; applies to sending comments and new posts (POST only).
        "BLOG_WRITE_RATE_LIMIT": env.text("WRITE_RATE_LIMIT", "10 per minute;100 per day"),
        # auth's registration page, offered to signed-out visitors beside "Sign in".
        "REGISTER_URL": env.text("REGISTER_URL", "/auth/register"),
        # Static URLs carry a content hash (?v=...), so browsers may keep the files for a year.
        "SEND_FILE_MAX_AGE_DEFAULT": 365 * 24 * 3600,
    }
    return config


def use_development_identity(
    config: MutableMapping[str, Any], instance_path: str, environ: Mapping[str, str] | None = None
) -> None:
    """Running alone in development, with no auth service to trust: trust our own dev key.

    Only when APP_ENV is development and no identity source (AUTH_JWKS, AUTH_JWKS_URL,
    AUTH_JWKS_FILE) is configured. The ``/dev/`` pages (and ``flask dev-login``) mint tokens
    with a key of the instance folder, set and clear the cookie; the header's sign-in and
    sign-out links lead there unless LOGIN_URL / LOGOUT_URL say otherwise.
    """
    jwks_file = development_jwks_file(config, instance_path)
    config["BLOG_DEV_IDENTITY"] = jwks_file is not None
    if jwks_file is None:
        return
    config["AUTH_JWKS_FILE"] = jwks_file
    # No auth service to send people to: sign-in and sign-out are the development pages.
    env = Env("blog", environ)
    if env.optional("LOGIN_URL") is None:
        config["LOGIN_URL"] = "/dev/sign-in"
    if env.optional("LOGOUT_URL") is None:
        config["LOGOUT_URL"] = "/dev/sign-out"
    if Env("blog", environ).optional("REGISTER_URL") is None:
        config["REGISTER_URL"] = None  # no auth service: nowhere to register
