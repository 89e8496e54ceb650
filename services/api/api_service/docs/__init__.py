"""Where a visitor starts: a small index at ``/`` and Swagger UI at ``/docs``.

Swagger UI is served from the swagger-ui-py package. No CDN: the assets come from the installed
package and are served by this app, and the page starts Swagger UI from our own
``static/docs-init.js``, so the default Content-Security-Policy (``script-src 'self'``, no
inline script) holds.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from flask import Blueprint, jsonify, render_template, url_for
from werkzeug.wrappers import Response

SWAGGER_UI_ASSETS = Path(str(resources.files("swagger_ui") / "static"))

bp = Blueprint(
    "docs",
    __name__,
    static_folder=SWAGGER_UI_ASSETS,
    static_url_path="/docs/assets",
)


@bp.get("/")
def api_index() -> Response:
    """What lives here, for someone who opens ``/api`` in a browser or with curl."""
    return jsonify(
        title="Tasks API",
        documentation=url_for("docs.index"),
        openapi=url_for("openapi.openapi_json"),
        health=url_for("health.healthz"),
    )


@bp.get("/docs")
def index() -> str:
    """The Swagger UI page for /openapi.json."""
    # Every static URL carries its file's content hash (servicekit.staticfiles).
    return render_template("docs/index.html")
