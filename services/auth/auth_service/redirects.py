"""Where to send the browser after signing in: only ever somewhere on this origin."""

from __future__ import annotations

from flask import url_for

from servicekit.redirects import same_origin_path


def safe_next_url(target: str | None) -> str:
    """``target`` if it is a same-origin relative path (servicekit.redirects), else the account
    page."""
    return same_origin_path(target) or url_for("accounts.account")
