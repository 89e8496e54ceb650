"""Command-line tasks: ``flask --app auth_service create-admin``, ``grant-role`` and
``generate-signing-key``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from auth_service.accounts.lookup import find_user
from auth_service.accounts.provisioning import AccountRefusedError, create_verified_user
from auth_service.activity import record_event
from auth_service.mail.cli import send_mail
from auth_service.sessions import end_all_sessions
from auth_service.signing import write_private_key
from servicekit.claims import ROLES


@click.command("create-admin")
@with_appcontext
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.option(
    "--password",
    envvar="AUTH_ADMIN_PASSWORD",
    show_envvar=True,
    help="Prompted (twice, hidden) when neither given nor read from standard input. On the "
    "command line it is visible to other users of the machine: prefer the variable.",
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def create_admin(username: str, email: str, password: str | None, password_stdin: bool) -> None:
    """Create a user with every role (the first admin of a new installation).

    Without a terminal (a script, `docker compose run -T`), give --username, --email and the
    password in AUTH_ADMIN_PASSWORD or on standard input with --password-stdin:

    \b
        printf '%s\\n' "$PASSWORD" | flask create-admin --username ada --email ada@example.com \\
            --password-stdin
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_verified_user(username, email, password, ROLES)
    except AccountRefusedError as refused:
        raise click.UsageError(str(refused)) from None
    click.echo(f"Created admin {user.username!r} (id {user.id}).")


@click.command("grant-role")
@with_appcontext
@click.argument("login")
@click.argument("role", type=click.Choice(ROLES))
def grant_role(login: str, role: str) -> None:
    """Give the user LOGIN (username or email) the role ROLE, as an admin would on their page.

    Their sessions end, so the role applies when they sign in again. The blog's "you may not
    do that" page shows this command in development, for a reader who wants to write.
    """
    user = find_user(login)
    if user is None:
        raise click.UsageError(f"No user {login!r}.")
    if role in user.roles:
        click.echo(f"{user.username} already has the role {role}.")
        return
    before = user.roles
    user.roles = [*user.roles, role]
    end_all_sessions(user, "roles_changed")
    record_event("roles_changed", user, before=before, after=user.roles, by="command line")
    click.echo(f"{user.username} now has the roles {', '.join(user.roles)}; they sign in again.")


@click.command("generate-signing-key")
@click.argument("path", type=click.Path(path_type=Path))
def generate_signing_key(path: Path) -> None:
    """Write a new Ed25519 private key (PEM) to PATH, a new file or a key directory.

    Given a directory, the key gets a name starting with the current UTC time, so it becomes
    the signing key at the next start while older keys in the directory stay published.

    It needs no app, so it also runs as ``python -m auth_service PATH`` (or the
    ``auth-generate-signing-key`` script), before production has its first key.
    """
    try:
        written = write_private_key(path)
    except FileExistsError:
        raise click.UsageError(f"{path} exists; keys are never overwritten.") from None
    click.echo(f"Wrote {written} (readable by its owner only). Restart the service to use it.")


def register_commands(app: Flask) -> None:
    """Add the service's commands to ``flask --app auth_service``."""
    app.cli.add_command(create_admin)
    app.cli.add_command(grant_role)
    app.cli.add_command(generate_signing_key)
    app.cli.add_command(send_mail)
