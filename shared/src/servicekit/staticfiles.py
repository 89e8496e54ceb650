"""Static URLs with the file's content hash: ``url_for("static", ...)`` gets ``?v=<hash>``.

With the hash in the URL, browsers and the gateway may keep a static file for a year
(``Cache-Control: immutable``) and still fetch a changed file at once, because its URL changed.
Every service installs it (through :func:`servicekit.init_service`): the blog's and auth's pages,
the stylesheet they share, and the api's documentation page with Swagger UI's files.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.security import safe_join


@cache
def _file_hash(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError:
        return None


def _static_folder(app: Flask, endpoint: str) -> str | None:
    """The folder behind a static endpoint: the app's (``static``) or a blueprint's."""
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.rpartition(".")[0])
    return blueprint.static_folder if blueprint is not None else None


def install_static_versions(app: Flask) -> None:
    """Add ``v=<content hash>`` to every static URL ``app`` builds, its blueprints' included.

    A URL given ``v`` explicitly keeps it; a file that does not exist gets no ``v`` (the URL
    then answers 404, as it would without this).
    """

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict[str, Any]) -> None:
        if not endpoint.endswith("static") or "v" in values or "filename" not in values:
            return
        folder = _static_folder(app, endpoint)
        path = safe_join(folder, values["filename"]) if folder else None
        version = _file_hash(path) if path else None
        if version is not None:
            values["v"] = version
