"""Where a ``?next=`` may send the browser: only somewhere on this origin (no open redirect)."""

from __future__ import annotations

from urllib.parse import urlsplit


def same_origin_path(target: str | None) -> str | None:
    """``target`` if it is a relative path on this origin, else None.

    Refused: absolute URLs (``https://evil.example/``), scheme-relative ones
    (``//evil.example``), backslashes (browsers read ``/\\evil.example`` as ``//evil.example``)
    and control characters (which some browsers strip before parsing).
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
