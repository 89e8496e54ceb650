"""Cache-busting static URLs: ``url_for("static", ...)`` gets ``?v=<hash of the file>``.

With the hash in the URL, browsers may cache static files for a year
(``SEND_FILE_MAX_AGE_DEFAULT``) and still get a changed file at once.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask


@cache
def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def install_static_versions(app: Flask) -> None:
    """Add ``v=<content hash>`` to every static URL of ``app``."""
    static_folder = Path(app.static_folder or "static")

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = _file_hash(static_folder / values["filename"])
            if version is not None:
                values["v"] = version
