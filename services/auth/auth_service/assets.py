"""Cache-busting for static files: ``url_for('static', ...)`` adds ``?v=<content hash>``.

Browsers may then cache the stylesheet for a long time and still get a new one when it changes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask


@cache
def _file_version(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def install_static_versions(app: Flask) -> None:
    """Add ``v=<hash>`` to every static URL the app builds."""
    static_folder = Path(app.static_folder or "static")

    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            values["v"] = _file_version(static_folder / values["filename"])
