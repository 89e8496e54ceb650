"""The development identity: run the API alone, without the auth service.

In the full system the auth service signs tokens and the API only verifies them. To try the API
alone, the development-only ``dev-token`` command creates a signing key in the instance folder,
publishes its public half as ``dev-jwks.json`` there (which the app trusts in development when no
other key source is configured) and prints a bearer token. The blog has the same module, with
``dev-login`` and the same options.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from servicekit.devidentity import (
    DevelopmentIdentityError,
    development_jwks_file,
    identity_options,
    mint_development_token,
)


def use_development_identity(app: Flask) -> None:
    """In development, trust the dev-token key unless a real key source is configured."""
    jwks_file = development_jwks_file(app.config, app.instance_path)
    if jwks_file is not None:
        app.config["AUTH_JWKS_FILE"] = jwks_file


@click.command("dev-token")
@identity_options(default_roles=("reader",), user_id_default="default: the name")
@with_appcontext
def dev_token(name: str, user_id: str | None, roles: tuple[str, ...], hours: int) -> None:
    """Print a bearer token for NAME, signed by a development key (APP_ENV=development only)."""
    try:
        token = mint_development_token(
            current_app.config,
            current_app.instance_path,
            sub=user_id or name,
            name=name,
            roles=roles,
            lifetime_seconds=hours * 3600,
        )
    except DevelopmentIdentityError as error:
        raise click.ClickException(f"dev-token {error}.") from None
    click.echo(token)
