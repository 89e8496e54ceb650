"""Where signing keys come from: a file, a directory, a variable, or (development) the
instance folder; production refuses to start without one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auth_service import create_app
from auth_service.signing import generate_private_key_pem, write_private_key
from servicekit.settings import ConfigError
from tests.support import AppFactory

#: A Fernet key for the TOTP secrets, which production requires too (two_factor/secret_box.py).
TOTP_KEY = "q1OKcIgpW2kz0rq9VxnJ3XbdDtNUUCB2cGXBwk06a4c="
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "x" * 48, "AUTH_TOTP_KEY": TOTP_KEY}


def test_development_key_is_generated_once_and_published_as_a_file(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    first = app_factory()
    instance = Path(first.instance_path)
    (pem,) = (instance / "signing-keys").glob("*.pem")
    published = json.loads((instance / "jwks.json").read_text())
    assert "d" not in published["keys"][0]
    second = app_factory()
    assert list((instance / "signing-keys").glob("*.pem")) == [pem]
    assert second.test_client().get("/.well-known/jwks.json").get_json() == published


def test_key_from_a_file(app_factory: AppFactory, tmp_path: Path) -> None:
    path = write_private_key(tmp_path / "key.pem")
    app = app_factory(environ={"AUTH_SIGNING_KEY_FILE": str(path)})
    assert len(app.test_client().get("/.well-known/jwks.json").get_json()["keys"]) == 1
    assert not (Path(app.instance_path) / "signing-keys").exists()


def test_key_from_a_variable(app_factory: AppFactory) -> None:
    app = app_factory(environ={"AUTH_SIGNING_KEY": generate_private_key_pem().decode()})
    assert len(app.test_client().get("/.well-known/jwks.json").get_json()["keys"]) == 1


def test_production_refuses_to_start_without_a_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUTH_SIGNING_KEY_FILE"):
        create_app(environ={**PRODUCTION, "AUTH_INSTANCE_PATH": str(tmp_path)})


def test_production_starts_with_a_key_file(tmp_path: Path) -> None:
    key = write_private_key(tmp_path / "key.pem")
    app = create_app(
        environ={
            **PRODUCTION,
            "AUTH_INSTANCE_PATH": str(tmp_path),
            "AUTH_SIGNING_KEY_FILE": str(key),
        }
    )
    assert app.config["ARGON2_MEMORY_COST"] >= 47104
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a key", "not an unencrypted PEM"), (b"", "not an unencrypted PEM")],
)
def test_a_bad_key_file_stops_the_app(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=message):
        create_app(
            environ={
                "APP_ENV": "testing",
                "AUTH_INSTANCE_PATH": str(tmp_path),
                "AUTH_SIGNING_KEY_FILE": str(path),
            }
        )


def test_a_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ConfigError, match="Ed25519"):
        create_app(
            environ={
                "APP_ENV": "testing",
                "AUTH_INSTANCE_PATH": str(tmp_path),
                "AUTH_SIGNING_KEY_FILE": str(path),
            }
        )


def test_a_missing_key_path_stops_the_app(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(
            environ={
                "APP_ENV": "testing",
                "AUTH_INSTANCE_PATH": str(tmp_path),
                "AUTH_SIGNING_KEY_FILE": str(tmp_path / "nope"),
            }
        )


def test_an_empty_key_directory_stops_the_app(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    with pytest.raises(ConfigError, match="no signing key"):
        create_app(
            environ={
                "APP_ENV": "testing",
                "AUTH_INSTANCE_PATH": str(tmp_path),
                "AUTH_SIGNING_KEY_FILE": str(tmp_path / "keys"),
            }
        )
