"""The blog service: posts, comments, tags and cover images, rendered with Jinja2 templates.

``create_app`` is the application factory; gunicorn runs ``blog_service:create_app()`` and
``flask --app blog_service run`` finds it too. Sign-in happens in the auth service: the blog
only verifies the ``identity`` cookie auth sets (see servicekit.identitycookie).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from flask import Flask, current_app, request, url_for

from blog_service import card_lists, cli, permissions
from blog_service.cards import card_html
from blog_service.comments.views import bp as comments_bp
from blog_service.config import blog_config_from_env
from blog_service.dev.views import bp as dev_bp
from blog_service.devidentity import use_development_identity
from blog_service.extensions import csrf, db, limiter, login_manager, migrate
from blog_service.feed.views import bp as feed_bp
from blog_service.links import link_for
from blog_service.posts.views import bp as posts_bp
from blog_service.site.views import bp as site_bp
from servicekit import init_service
from servicekit.database import init_database
from servicekit.identity import init_identity
from servicekit.identitycookie import install_cookie_login, login_url
from servicekit.settings import Env, Settings, instance_path_from_env

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> Flask:
    """Build the blog app from the environment (``environ``, default ``os.environ``).

    One path (servicekit.settings): ``overrides`` are read as variables of the same name,
    the settings are built from them, and the app's configuration is set once from those.
    """
    env = Env("blog", environ, overrides)
    app = Flask(__name__, instance_path=instance_path_from_env("blog", env))
    settings = Settings.from_env("blog", app.instance_path, env)
    config = blog_config_from_env(env)
    init_service(app, settings, {**config, **env.unread_overrides()}, error_style="html")
    use_development_identity(app, env)

    init_database(app, db, migrate, MIGRATIONS)
    csrf.init_app(app)
    limiter.init_app(app)
    init_identity(app)
    install_cookie_login(app, login_manager)
    card_lists.init_app(app)
    _install_template_helpers(app)

    app.register_blueprint(posts_bp)
    app.register_blueprint(comments_bp)
    app.register_blueprint(feed_bp)
    app.register_blueprint(site_bp)
    if app.config.get("BLOG_DEV_IDENTITY"):
        app.register_blueprint(dev_bp)
    cli.register_commands(app)
    return app


#: The query arguments that say which page of a list this is (see queries.keyset_page).
_PAGE_ARGUMENTS = ("before", "after", "page")


def _page_url(direction: str, cursor: object) -> str:
    """This list's URL at the page ``before`` or ``after`` ``cursor``, other arguments kept.

    The query string is built here, not by url_for: given the arguments as keywords, url_for
    reads ``?endpoint=`` or ``?_method=`` as its own parameters and fails (a 500).
    """
    args = [
        (name, value)
        for name, value in request.args.items(multi=True)
        if name not in _PAGE_ARGUMENTS
    ]
    args.append((direction, str(cursor)))
    path = url_for(str(request.endpoint), **(request.view_args or {}))
    return f"{path}?{urlencode(args)}"


def _register_url() -> str | None:
    """auth's registration page, sending the new user back here; None with no auth service."""
    register = current_app.config.get("REGISTER_URL")
    if not register:
        return None
    target = request.script_root + request.full_path.rstrip("?")
    return f"{register}?next={quote(target, safe='/')}"


def _install_template_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(
        page_url=_page_url,
        link_for=link_for,
        card_html=card_html,
        can_write=permissions.can_write,
        can_edit_post=permissions.can_edit_post,
        can_delete_comment=permissions.can_delete_comment,
        sign_in_url=login_url,
        register_url=_register_url,
        role_purposes=permissions.ROLE_PURPOSES,
        sign_out_url=lambda: current_app.config["LOGOUT_URL"],
    )
    # Every time the blog stores is timezone-aware UTC (servicekit.database.UTCDateTime).
    app.jinja_env.filters["isodate"] = lambda moment: moment.isoformat()
    app.jinja_env.filters["date"] = lambda moment: moment.strftime("%d %B %Y")
