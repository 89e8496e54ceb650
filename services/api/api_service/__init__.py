"""The api service: a Flask-RESTful tasks API (projects and their tasks).

Read it in this order: config.py (settings), extensions.py, models.py, connections.py (the
connection a request's statements run on), schemas.py (validation and serialisation), dumping.py
(the output schemas compiled for speed), permissions.py (who may do what), v1/ (the resources and
their HTTP plumbing), apidoc.py and openapi.py (the OpenAPI document built from the resources and
the same schemas), docs/ (interactive documentation), devidentity.py (dev-token), cli.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from api_service import docs, openapi, v1
from api_service.cli import register_commands
from api_service.config import api_config_from_env
from api_service.connections import init_connections
from api_service.devidentity import use_development_identity
from api_service.extensions import cors, db, migrate
from api_service.ratelimit import init_rate_limit
from servicekit import init_service
from servicekit.database import init_database
from servicekit.identity import init_identity
from servicekit.settings import Env, Settings, instance_path_from_env

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
    ``overrides`` (tests pass their configuration here).

    One path (servicekit.settings): ``overrides`` are read as variables of the same name,
    the settings are built from them, and the app's configuration is set once from those.
    """
    env = Env("api", environ, overrides)
    app = Flask(__name__, instance_path=instance_path_from_env("api", env))
    settings = Settings.from_env("api", app.instance_path, env)
    config = api_config_from_env(env)
    init_service(app, settings, {**config, **env.unread_overrides()}, error_style="problem")

    use_development_identity(app)
    verifier = init_identity(app)
    init_database(app, db, migrate, MIGRATIONS)
    init_connections(app)
    init_rate_limit(app, verifier.revocations)
    init_cors(app)
    app.register_blueprint(v1.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(docs.bp)
    register_commands(app)
    return app


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
