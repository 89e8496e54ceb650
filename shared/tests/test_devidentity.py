from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from servicekit.devidentity import (
    DEV_JWKS_FILE,
    DEV_KEY_FILE,
    DevelopmentIdentityError,
    development_jwks_file,
    development_key,
    mint_development_token,
)
from servicekit.revocation import MemoryRevocationStore
from servicekit.verifier import TokenVerifier

BASE = {"AUTH_ISSUER": "iss", "AUTH_AUDIENCE": "aud"}


def dev_config(tmp_path: Path, **config: Any) -> dict[str, Any]:
    merged = {**BASE, "APP_ENV": "development", **config}
    path = development_jwks_file(merged, tmp_path)
    merged["AUTH_JWKS_FILE"] = merged.get("AUTH_JWKS_FILE") or path
    return merged


def test_trusted_only_in_development_without_another_source(tmp_path: Path) -> None:
    assert development_jwks_file({"APP_ENV": "development"}, tmp_path) == str(
        tmp_path / DEV_JWKS_FILE
    )
    assert development_jwks_file({"APP_ENV": "production"}, tmp_path) is None
    assert development_jwks_file({"APP_ENV": "testing"}, tmp_path) is None
    real = {"APP_ENV": "development", "AUTH_JWKS_URL": "http://auth/jwks"}
    assert development_jwks_file(real, tmp_path) is None


def test_minted_tokens_verify_with_the_published_jwks(tmp_path: Path) -> None:
    config = dev_config(tmp_path)
    token = mint_development_token(
        config, tmp_path, sub="7", name="dora", roles=["author"], lifetime_seconds=60
    )
    verifier = TokenVerifier(
        issuer="iss", audience="aud", revocations=MemoryRevocationStore(),
        jwks_file=config["AUTH_JWKS_FILE"],
    )  # fmt: skip
    identity = verifier.verify(token)
    assert (identity.id, identity.name, identity.roles) == ("7", "dora", frozenset({"author"}))
    assert stat.S_IMODE((tmp_path / DEV_KEY_FILE).stat().st_mode) == 0o600


def test_the_key_is_created_once(tmp_path: Path) -> None:
    first = development_key(tmp_path)[1]
    assert development_key(tmp_path)[1] == first


def test_refused_outside_development(tmp_path: Path) -> None:
    with pytest.raises(DevelopmentIdentityError, match="APP_ENV=development"):
        mint_development_token({**BASE, "APP_ENV": "production"}, tmp_path, sub="1", name="x",
                               roles=(), lifetime_seconds=60)  # fmt: skip


def test_refused_when_another_source_is_trusted(tmp_path: Path) -> None:
    config = dev_config(tmp_path, AUTH_JWKS_FILE=str(tmp_path / "auth-jwks.json"))
    with pytest.raises(DevelopmentIdentityError, match="another key source"):
        mint_development_token(config, tmp_path, sub="1", name="x", roles=(), lifetime_seconds=60)
    assert not (tmp_path / DEV_KEY_FILE).exists()


def test_a_foreign_key_file_is_refused(tmp_path: Path) -> None:
    pem = generate_private_key(65537, 2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / DEV_KEY_FILE).write_bytes(pem)
    with pytest.raises(DevelopmentIdentityError, match="Ed25519"):
        development_key(tmp_path)


def test_identity_options_are_the_same_for_every_command() -> None:
    import click
    from click.testing import CliRunner

    from servicekit.devidentity import identity_options

    @click.command()
    @identity_options(default_roles=("reader",), user_id_default="default: the name", max_hours=24)
    def show(name: str, user_id: str | None, roles: tuple[str, ...], hours: int) -> None:
        click.echo(f"{name} {user_id} {','.join(roles)} {hours}")

    runner = CliRunner()
    assert runner.invoke(show, []).output == "alice None reader 8\n"
    given = ["--name", "bo", "--user-id", "7", "--role", "author", "--role", "admin"]
    assert runner.invoke(show, [*given, "--hours", "2"]).output == "bo 7 author,admin 2\n"
    assert runner.invoke(show, ["--hours", "25"]).exit_code == 2
