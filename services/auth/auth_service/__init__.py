"""The auth service: accounts, roles, sessions, and the identity tokens blog and api trust.

Run it alone with ``flask --app auth_service run`` (development: SQLite and a signing key in
the instance folder), or under gunicorn with ``auth_service:create_app()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_login import user_loaded_from_cookie

from auth_service.accounts.views import bp as accounts_bp
from auth_service.admin.views import bp as admin_bp
from auth_service.api.views import bp as api_bp
from auth_service.cli import register_commands
from auth_service.config import auth_config_from_env, check_password_hashing
from auth_service.devices.views import bp as devices_bp
from auth_service.extensions import csrf, db, limiter, login_manager, migrate
from auth_service.passwords import init_passwords
from auth_service.recovery.views import bp as recovery_bp
from auth_service.revocations import init_revocations
from auth_service.sessions import load_user
from auth_service.signing import init_signing
from auth_service.tokens.views import bp as tokens_bp
from auth_service.two_factor.secret_box import init_secret_box
from auth_service.two_factor.views import bp as two_factor_bp
from auth_service.verification.views import bp as verification_bp
from servicekit import init_service
from servicekit.database import init_database
from servicekit.settings import Env, Settings, instance_path_from_env

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the auth app from the environment (``environ``, default os.environ).

    One path (servicekit.settings): ``overrides`` are read as variables of the same name,
    the settings are built from them, and the app's configuration is set once from those.
    """
    env = Env("auth", environ, overrides)
    app = Flask(__name__, instance_path=instance_path_from_env("auth", env))
    settings = Settings.from_env("auth", app.instance_path, env)
    config = auth_config_from_env(env)
    config.update(_login_config(settings, config["REMEMBER_COOKIE_DAYS"]))
    init_service(app, settings, {**config, **env.unread_overrides()}, error_style="html")
    check_password_hashing(app)
    init_passwords(app)

    init_database(app, db, migrate, MIGRATIONS)
    csrf.init_app(app)
    limiter.init_app(app)
    _init_login(app)
    init_signing(app)
    init_secret_box(app)
    init_revocations(app)

    app.register_blueprint(accounts_bp)
    app.register_blueprint(two_factor_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(devices_bp)
    app.register_blueprint(recovery_bp)
    app.register_blueprint(verification_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.config["PROBLEM_JSON_BLUEPRINTS"].add(api_bp.name)
    csrf.exempt(api_bp)

    # Templates indent their blocks for readability; keep that whitespace out of the HTML.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    register_commands(app)
    return app


def _login_config(settings: Settings, remember_days: int) -> dict[str, Any]:
    """Flask-Login's remember-me cookie, set deliberately (its defaults are lax)."""
    return {
        "REMEMBER_COOKIE_NAME": "auth_remember",
        "REMEMBER_COOKIE_DURATION": timedelta(days=remember_days),
        "REMEMBER_COOKIE_SECURE": settings.secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
    }


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    # "strong": a session used from another browser or address is dropped, not trusted.
    login_manager.session_protection = "strong"
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see this page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    user_loaded_from_cookie.connect(_bind_restored_session, app)


def _bind_restored_session(_app: Flask, **_extra: object) -> None:
    # Flask-Login restores a session from the remember-me cookie without recording which
    # browser it belongs to; "strong" protection then drops it (and the cookie) on the very
    # next request. Record it as login_user does, so "keep me signed in" keeps working.
    session["_id"] = login_manager._session_identifier_generator()
