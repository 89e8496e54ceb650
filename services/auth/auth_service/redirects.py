"""Where to send the browser after logging in: only ever somewhere on this origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def safe_next_url(target: str | None) -> str:
    """``target`` if it is a same-origin relative path, else the account page.

    Refused: absolute URLs (``https://evil.example/``), scheme-relative ones
    (``//evil.example``), backslashes (browsers read ``/\\evil.example`` as ``//evil.example``)
    and control characters (which some browsers strip before parsing).
    """
    fallback = url_for("accounts.account")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target
