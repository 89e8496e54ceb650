"""A development identity: run blog or api alone, without the auth service.

In the full system only auth can sign identity tokens. To try one of the other services on its
own, a development command creates a signing key in the service's instance folder, publishes its
public half there as a JWKS, and mints tokens with it. The service trusts that JWKS only in
development and only when no real key source (AUTH_JWKS, AUTH_JWKS_FILE, AUTH_JWKS_URL) is
configured, so none of this can happen in production.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from servicekit.claims import identity_claims
from servicekit.signingkey import public_jwk, sign_claims

DEV_KEY_FILE = "dev-signing-key.pem"
DEV_JWKS_FILE = "dev-jwks.json"
KEY_SOURCES = ("AUTH_JWKS", "AUTH_JWKS_FILE", "AUTH_JWKS_URL")


Command = TypeVar("Command", bound=Callable[..., Any])


def identity_options(
    *, default_roles: tuple[str, ...], user_id_default: str, max_hours: int | None = None
) -> Callable[[Command], Command]:
    """The options every development token command takes, alike in blog and api:
    ``--name``, ``--user-id``, ``--role`` (repeatable) and ``--hours``."""
    hours_type = click.IntRange(1, max_hours) if max_hours else click.IntRange(1)

    def decorate(command: Command) -> Command:
        for option in reversed(
            [
                click.option(
                    "--name", default="alice", show_default=True, help="User name (claim 'name')."
                ),
                click.option(
                    "--user-id", default=None, help=f"User id (claim 'sub'); {user_id_default}."
                ),
                click.option(
                    "--role",
                    "roles",
                    multiple=True,
                    default=default_roles,
                    show_default=True,
                    help="A role (repeat for several): reader, author, admin.",
                ),
                click.option("--hours", default=8, show_default=True, type=hours_type),
            ]
        ):
            command = option(command)
        return command

    return decorate


class DevelopmentIdentityError(RuntimeError):
    """The development identity cannot be used here; the message says why."""


def development_jwks_file(
    config: Mapping[str, Any], instance_path: str | os.PathLike[str]
) -> str | None:
    """The development JWKS a service should trust, or None outside development or when a
    real key source is configured."""
    if config.get("APP_ENV") != "development":
        return None
    if any(config.get(name) for name in KEY_SOURCES):
        return None
    return str(Path(instance_path) / DEV_JWKS_FILE)


def development_key(instance_path: str | os.PathLike[str]) -> tuple[Ed25519PrivateKey, str]:
    """The development signing key (created once, readable by its owner only) and its key id.

    Also (re)writes the public JWKS beside it, which the service reads as AUTH_JWKS_FILE.
    """
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    key_path = instance / DEV_KEY_FILE
    if not key_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise DevelopmentIdentityError(f"{key_path} does not hold an Ed25519 key; delete it")
    jwk = public_jwk(key, "dev")
    kid = "dev-" + jwk["x"][:12]
    jwk["kid"] = kid
    jwks_path = instance / DEV_JWKS_FILE
    text = json.dumps({"keys": [jwk]}, indent=2)
    if not jwks_path.exists() or jwks_path.read_text() != text:
        jwks_path.write_text(text)
    return key, kid


def mint_development_token(
    config: Mapping[str, Any],
    instance_path: str | os.PathLike[str],
    *,
    sub: str,
    name: str,
    roles: Iterable[str],
    lifetime_seconds: float,
) -> str:
    """A token for ``name`` signed by the development key, with the service's issuer/audience.

    Refuses (DevelopmentIdentityError) unless the service trusts the development key.
    """
    if config.get("APP_ENV") != "development":
        raise DevelopmentIdentityError("works only with APP_ENV=development")
    if config.get("AUTH_JWKS_FILE") != str(Path(instance_path) / DEV_JWKS_FILE):
        raise DevelopmentIdentityError(
            "this app trusts another key source (AUTH_JWKS, AUTH_JWKS_FILE or AUTH_JWKS_URL): "
            "sign in through the auth service instead"
        )
    key, kid = development_key(instance_path)
    claims = identity_claims(
        sub,
        name,
        roles,
        issuer=config["AUTH_ISSUER"],
        audience=config["AUTH_AUDIENCE"],
        lifetime=lifetime_seconds,
    )
    return sign_claims(claims, key, kid)
