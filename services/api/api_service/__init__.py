"""The api service: a Flask-RESTful tasks API (projects and their tasks).

Read it in this order: config.py (settings), extensions.py, models.py, schemas.py (validation and
serialisation), v1/ (the resources and their HTTP plumbing), openapi.py (the OpenAPI document
built from the same schemas), docs/ (interactive documentation), cli.py (dev-token).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response

from api_service.cli import register_cli, use_development_keys
from api_service.config import api_config_from_env
from api_service.extensions import cors, db, limiter, migrate
from servicekit import init_service
from servicekit.database import init_database
from servicekit.identity import init_identity
from servicekit.settings import Settings, instance_path_from_env

MIGRATIONS = Path(__file__).parent / "migrations"

#: Headers a cross-origin browser client may read and send.
CORS_EXPOSED = [
    "ETag",
    "Location",
    "Link",
    "X-Total-Count",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-ID",
]
CORS_ALLOWED = ["Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID"]


def create_app(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the api app from the environment (``environ``, default os.environ) and
    ``overrides`` (tests pass their configuration here)."""
    app = Flask(__name__, instance_path=instance_path_from_env("api", environ))
    settings = Settings.from_env("api", app.instance_path, environ)
    init_service(app, settings, error_style="problem")
    app.config.from_mapping(api_config_from_env(environ))
    app.config.from_mapping(overrides or {})

    use_development_keys(app)
    init_identity(app)
    init_database(app, db, migrate, MIGRATIONS)
    # Registered before the limiter so it runs after the limiter's header hook (Flask runs
    # after_request functions in reverse order): Flask-Limiter sends Retry-After on every
    # response, but the header only means something on a 429 (or 503).
    app.after_request(retry_after_only_when_refused)
    limiter.init_app(app)
    init_cors(app)

    from api_service import docs, openapi, v1

    app.register_blueprint(v1.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(docs.bp)
    register_cli(app)
    return app


def retry_after_only_when_refused(response: Response) -> Response:
    """Drop Retry-After from responses that are not 429 or 503."""
    if response.status_code not in {429, 503}:
        response.headers.pop("Retry-After", None)
    return response


def init_cors(app: Flask) -> None:
    """Allow the configured browser origins (API_CORS_ORIGINS) to call the API; none by default."""
    origins = app.config["API_CORS_ORIGINS"]
    if not origins:
        return
    cors.init_app(
        app,
        resources={r"/v1/*": {}, r"/openapi.json": {}},
        origins=origins,
        expose_headers=CORS_EXPOSED,
        allow_headers=CORS_ALLOWED,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        supports_credentials=False,  # bearer tokens only, never cookies
        max_age=600,
    )
