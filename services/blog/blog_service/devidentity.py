"""The development identity: run the blog alone, without the auth service.

Only when APP_ENV is development and no identity source is configured, the blog trusts a key of
its own: ``flask dev-login`` creates it and prints a token, and the ``/dev/`` pages
(blog_service/dev/views.py) set and clear the identity cookie. The api has the same module, with
``dev-token`` and the same options.
"""

from __future__ import annotations

import click
from flask import Flask, current_app, url_for
from flask.cli import with_appcontext

from servicekit.devidentity import (
    development_jwks_file,
    identity_options,
    mint_development_token,
)
from servicekit.settings import Env


def use_development_identity(app: Flask, env: Env) -> None:
    """Running alone in development, with no auth service to trust: trust our own dev key.

    Only when APP_ENV is development and no identity source (AUTH_JWKS, AUTH_JWKS_URL,
    AUTH_JWKS_FILE) is configured. ``flask dev-login`` creates the key; the ``/dev/`` pages
    set and clear the cookie.
    """
    config = app.config
    jwks_file = development_jwks_file(config, app.instance_path)
    config["BLOG_DEV_IDENTITY"] = jwks_file is not None
    if jwks_file is None:
        return
    config["AUTH_JWKS_FILE"] = jwks_file
    # No auth service to send people to: sign-in and sign-out are the development pages.
    if env.optional("LOGIN_URL") is None:
        config["LOGIN_URL"] = "/dev/sign-in"
    if env.optional("LOGOUT_URL") is None:
        config["LOGOUT_URL"] = "/dev/sign-out"
    if env.optional("REGISTER_URL") is None:
        config["REGISTER_URL"] = None  # no auth service: nowhere to register


@click.command("dev-login")
@with_appcontext
@identity_options(
    default_roles=("reader", "author"), user_id_default="default: dev-<name>", max_hours=24
)
def dev_login(name: str, user_id: str | None, roles: tuple[str, ...], hours: int) -> None:
    """Development only: sign in without the auth service.

    Creates a development key in the instance folder (the blog trusts it in development when
    no other identity source is configured) and prints an identity token and a sign-in URL.
    """
    app = current_app
    if app.config["APP_ENV"] != "development":
        raise click.ClickException("dev-login works only with APP_ENV=development.")
    if not app.config.get("BLOG_DEV_IDENTITY"):
        raise click.ClickException(
            "This app trusts another identity source (AUTH_JWKS_URL or AUTH_JWKS_FILE): "
            "sign in through the auth service instead."
        )
    token = mint_development_token(
        app.config,
        app.instance_path,
        sub=user_id or f"dev-{name}",
        name=name,
        roles=roles,
        lifetime_seconds=hours * 3600,
    )
    with app.test_request_context():
        sign_in_path = url_for("dev.sign_in", token=token)
    click.echo(f"Identity cookie value ({app.config['IDENTITY_COOKIE_NAME']}):\n{token}\n")
    click.echo(f"Or open this path on the running blog to set it:\n{sign_in_path}")
