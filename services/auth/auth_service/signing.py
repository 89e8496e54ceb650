"""The keys that sign identity tokens, and the tokens themselves.

Where the private keys come from (first match wins):

* ``AUTH_SIGNING_KEY``: one PEM in the variable itself (containers with a secret store);
* ``AUTH_SIGNING_KEY_FILE``: a PEM file, or a directory of ``*.pem`` files for rotation;
* otherwise, in development and testing only: ``<instance>/signing-keys/``, where a key is
  generated the first time the app starts. Production refuses to start without a key.

With a directory, every key is published in the JWKS and the last one in name order signs.
Rotation: add a newer PEM (``flask --app auth_service generate-signing-key DIR``; its name
starts with the UTC time, so it sorts last), restart, and delete the old PEM once the tokens
it signed have expired (``AUTH_TOKEN_LIFETIME`` seconds later). Until then the old public key
stays in the JWKS, so tokens issued before the rotation still verify.

The key id (``kid``) is the RFC 7638 thumbprint of the public key: stable, and nothing to
configure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, current_app

from servicekit.claims import identity_claims
from servicekit.clock import utcnow
from servicekit.settings import ConfigError
from servicekit.signingkey import public_jwk, sign_claims

_EXTENSION_KEY = "auth_service.keyring"


def generate_private_key_pem() -> bytes:
    """A new Ed25519 private key as unencrypted PKCS#8 PEM."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private_key(path: Path) -> Path:
    """Write a new key to ``path`` (a file, or a directory to add a time-named file to).

    The file is created readable by its owner only and never overwritten.
    """
    if path.is_dir():
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
        path = path / f"{stamp}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(generate_private_key_pem())
    return path


def _load_pem(data: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as error:
        raise ConfigError(f"{source} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{source} must hold an Ed25519 key (see generate-signing-key)")
    return key


@dataclass(frozen=True)
class SigningKey:
    """One private key and its public JWK."""

    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_private_key(cls, private_key: Ed25519PrivateKey) -> SigningKey:
        """Name the key by the RFC 7638 thumbprint of its public half."""
        jwk = public_jwk(private_key, kid="")  # the thumbprint reads crv, kty and x only
        canonical = json.dumps(
            {name: jwk[name] for name in ("crv", "kty", "x")}, separators=(",", ":"), sort_keys=True
        )
        digest = hashlib.sha256(canonical.encode()).digest()
        kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return cls(kid=kid, private_key=private_key)

    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK with ``kid``, ``alg`` and ``use``."""
        return public_jwk(self.private_key, self.kid)


class KeyRing:
    """Every published key; the last one signs."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ConfigError("no signing key: set AUTH_SIGNING_KEY_FILE (see the README)")
        self.keys = keys

    @property
    def active(self) -> SigningKey:
        """The key new tokens are signed with."""
        return self.keys[-1]

    def jwks(self) -> dict[str, Any]:
        """The public JWKS document: every key, so older tokens keep verifying."""
        return {"keys": [key.public_jwk() for key in self.keys]}

    @classmethod
    def from_paths(cls, paths: list[Path]) -> KeyRing:
        """Load each PEM file of ``paths``, in that order."""
        return cls([SigningKey.from_private_key(_load_pem(p.read_bytes(), str(p))) for p in paths])


def _pem_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(path.glob("*.pem"))
    if path.is_file():
        return [path]
    raise ConfigError(f"AUTH_SIGNING_KEY_FILE {path} does not exist")


def load_keyring(app: Flask) -> KeyRing:
    """Load the signing keys named by the configuration (see the module docstring)."""
    config = app.config
    if config.get("AUTH_SIGNING_KEY"):
        key = _load_pem(config["AUTH_SIGNING_KEY"].encode(), "AUTH_SIGNING_KEY")
        return KeyRing([SigningKey.from_private_key(key)])
    if config.get("AUTH_SIGNING_KEY_FILE"):
        return KeyRing.from_paths(_pem_files(Path(config["AUTH_SIGNING_KEY_FILE"])))
    if config["APP_ENV"] == "production":
        raise ConfigError(
            "AUTH_SIGNING_KEY_FILE (or AUTH_SIGNING_KEY) is required in production: create one "
            "with `python -m auth_service /path/to/keys/`"
        )
    directory = Path(app.instance_path) / "signing-keys"
    directory.mkdir(parents=True, exist_ok=True)
    if not list(directory.glob("*.pem")):
        write_private_key(directory)
    ring = KeyRing.from_paths(_pem_files(directory))
    write_public_jwks(ring, Path(app.instance_path) / "jwks.json")
    return ring


def write_public_jwks(ring: KeyRing, path: Path) -> None:
    """Write the public JWKS where blog and api read it in development (AUTH_JWKS_FILE).

    Written to a temporary file and renamed, so a reader never sees half a document.
    """
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(ring.jwks(), indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)


def init_signing(app: Flask) -> KeyRing:
    """Load the keys once at start-up, so a bad key stops the app instead of a request."""
    ring = load_keyring(app)
    app.extensions[_EXTENSION_KEY] = ring
    return ring


def keyring() -> KeyRing:
    """The current app's keys."""
    ring: KeyRing = current_app.extensions[_EXTENSION_KEY]
    return ring


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and what the caller needs to know about it."""

    token: str
    jti: str
    expires_at: float
    lifetime: int


def issue_token(
    user_id: int,
    username: str,
    roles: list[str],
    *,
    scope: str | None = None,
    pat: int | None = None,
) -> IssuedToken:
    """Sign an identity token with the claims every verifier expects (docs/design.md,
    :func:`servicekit.claims.identity_claims`).

    A token exchanged for a personal access token also carries ``scope`` (space-separated,
    RFC 8693) and ``pat``, the personal token's id; without ``scope`` the token has the
    user's full rights.
    """
    config = current_app.config
    lifetime = int(config["AUTH_TOKEN_LIFETIME"])
    claims = identity_claims(
        str(user_id),
        username,
        roles,
        issuer=config["AUTH_ISSUER"],
        audience=config["AUTH_AUDIENCE"],
        lifetime=lifetime,
    )
    if scope is not None:
        claims["scope"] = scope
    if pat is not None:
        claims["pat"] = pat
    key = keyring().active
    token = sign_claims(claims, key.private_key, key.kid)
    return IssuedToken(token=token, jti=claims["jti"], expires_at=claims["exp"], lifetime=lifetime)
