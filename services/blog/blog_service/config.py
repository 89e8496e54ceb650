"""The blog's own settings, read from the environment (``BLOG_<NAME>`` first, then ``<NAME>``).

The settings every service shares (secret key, database, identity...) come from
``servicekit.settings.Settings``; these are the ones only the blog has. Each is listed in the
README's table.
"""

from __future__ import annotations

from typing import Any

from servicekit.settings import Env


def blog_config_from_env(env: Env) -> dict[str, Any]:
    """The blog's Flask configuration from the environment (and the app factory's overrides)."""
    config: dict[str, Any] = {
        "BLOG_TITLE": env.text("TITLE", "Flask services blog"),
        "BLOG_POSTS_PER_PAGE": env.integer("POSTS_PER_PAGE", 10, minimum=1),
        # How long a list page's rendered cards are shared by its readers (card_lists.py); as
        # long as the gateway keeps an anonymous page (caching.SHARED_CACHE_SECONDS). 0: never.
        "BLOG_FRAGMENT_CACHE_SECONDS": env.integer("FRAGMENT_CACHE_SECONDS", 2),
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
