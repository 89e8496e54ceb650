"""Command-line tools: ``flask --app api_service dev-token`` for running the API on its own.

In the full system the auth service signs tokens and the API only verifies them. To try the API
alone, the development-only ``dev-token`` command creates a signing key in the instance folder,
publishes its public half as ``dev-jwks.json`` there (which the app trusts in development when no
other key source is configured) and prints a bearer token.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import click
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app
from flask.cli import with_appcontext

DEV_KEY_FILE = "dev-signing-key.pem"
DEV_JWKS_FILE = "dev-jwks.json"


def use_development_keys(app: Flask) -> None:
    """In development, trust the dev-token key unless a real key source is configured."""
    if app.config.get("APP_ENV") != "development":
        return
    if any(app.config.get(name) for name in ("AUTH_JWKS", "AUTH_JWKS_FILE", "AUTH_JWKS_URL")):
        return
    app.config["AUTH_JWKS_FILE"] = str(Path(app.instance_path) / DEV_JWKS_FILE)


def _development_key(instance: Path) -> tuple[Ed25519PrivateKey, str]:
    """The dev signing key and its id, created (private file, 0600) on first use."""
    key_path = instance / DEV_KEY_FILE
    if not key_path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise click.ClickException(f"{key_path} does not hold an Ed25519 key")
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return key, "dev-" + jwt.utils.base64url_encode(public).decode()[:12]


def _write_jwks(instance: Path, key: Ed25519PrivateKey, kid: str) -> None:
    jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="EdDSA", use="sig")
    (instance / DEV_JWKS_FILE).write_text(json.dumps({"keys": [jwk]}, indent=2))


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
    app = current_app
    if app.config.get("APP_ENV") != "development":
        raise click.ClickException("dev-token works only with APP_ENV=development.")
    expected = str(Path(app.instance_path) / DEV_JWKS_FILE)
    if app.config.get("AUTH_JWKS_FILE") != expected:
        raise click.ClickException(
            "This app trusts another key source (AUTH_JWKS / AUTH_JWKS_FILE / AUTH_JWKS_URL); "
            "get a token from the auth service instead."
        )
    instance = Path(app.instance_path)
    key, kid = _development_key(instance)
    _write_jwks(instance, key, kid)
    now = time.time()
    claims = {
        "sub": sub or name,
        "name": name,
        "roles": list(roles),
        "iss": app.config["AUTH_ISSUER"],
        "aud": app.config["AUTH_AUDIENCE"],
        "iat": now,
        "exp": now + hours * 3600,
        "jti": uuid.uuid4().hex,
    }
    click.echo(jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid}))


def register_cli(app: Flask) -> None:
    """Add the service's commands to ``flask --app api_service``."""
    app.cli.add_command(dev_token)
