"""Command-line tools: ``flask --app api_service dev-token`` for running the API on its own.

In the full system the auth service signs tokens and the API only verifies them. To try the API
alone, the development-only ``dev-token`` command creates a signing key in the instance folder,
publishes its public half as ``dev-jwks.json`` there (which the app trusts in development when no
other key source is configured) and prints a bearer token.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from servicekit.devidentity import (
    DevelopmentIdentityError,
    development_jwks_file,
    mint_development_token,
)


def use_development_keys(app: Flask) -> None:
    """In development, trust the dev-token key unless a real key source is configured."""
    jwks_file = development_jwks_file(app.config, app.instance_path)
    if jwks_file is not None:
        app.config["AUTH_JWKS_FILE"] = jwks_file


@click.command("dev-token")
@click.option("--name", default="alice", show_default=True, help="User name (claim 'name').")
@click.option("--sub", default=None, help="User id (claim 'sub'); defaults to the name.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=("reader",),
    show_default=True,
    help="A role (repeat for several): reader, author, admin.",
)
@click.option("--hours", default=8, show_default=True, help="Lifetime of the token.")
@with_appcontext
def dev_token(name: str, sub: str | None, roles: tuple[str, ...], hours: int) -> None:
    """Print a bearer token for NAME, signed by a development key (APP_ENV=development only)."""
    try:
        token = mint_development_token(
            current_app.config,
            current_app.instance_path,
            sub=sub or name,
            name=name,
            roles=roles,
            lifetime_seconds=hours * 3600,
        )
    except DevelopmentIdentityError as error:
        raise click.ClickException(f"dev-token {error}.") from None
    click.echo(token)


def register_cli(app: Flask) -> None:
    """Add the service's commands to ``flask --app api_service``."""
    app.cli.add_command(dev_token)
