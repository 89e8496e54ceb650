"""What browsers fetch at the root of the origin, which the blog serves for the whole site."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("site", __name__)

ONE_WEEK = 7 * 24 * 3600


@bp.get("/favicon.ico")
def favicon() -> Response:
    """The site icon. Browsers ask for /favicon.ico on every origin, whichever service's page."""
    static_folder = current_app.static_folder
    assert static_folder is not None
    return send_from_directory(static_folder, "favicon.ico", max_age=ONE_WEEK)
