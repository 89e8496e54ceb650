"""The service's commands: create-admin and generate-signing-key."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask

from auth_service.extensions import db
from auth_service.models import User
from tests.support import PASSWORD, login


def test_create_admin_with_options(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--username",
            "boss",
            "--email",
            "Boss@Example.com",
            "--password",
            PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin 'boss'" in result.output
    with app.app_context():
        boss = db.session.scalar(db.select(User).where(User.username == "boss"))
        assert boss is not None
        assert boss.roles == ["reader", "author", "admin"]
        assert boss.email == "boss@example.com"
        assert boss.email_verified  # the operator typed it: no verification email to wait for
    client = app.test_client()
    login(client, "boss")
    assert client.get("/admin/users").status_code == 200


def test_create_admin_prompts(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-admin"], input=f"boss\nboss@example.com\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output


def test_create_admin_reads_the_password_from_standard_input(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", "boss", "--email", "b@example.com", "--password-stdin"],
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    login(app.test_client(), "boss")


def test_create_admin_reads_the_password_from_the_environment(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--username", "boss", "--email", "b@example.com"],
        env={"AUTH_ADMIN_PASSWORD": PASSWORD},
    )
    assert result.exit_code == 0, result.output
    login(app.test_client(), "boss")


def test_create_admin_says_how_to_run_without_a_terminal(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["create-admin", "--help"])
    assert "--password-stdin" in result.output
    assert "AUTH_ADMIN_PASSWORD" in result.output


def test_create_admin_refuses_weak_passwords_and_duplicates(app: Flask, user: User) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=[
            "create-admin",
            "--username",
            "boss",
            "--email",
            "b@example.com",
            "--password",
            "password1",
        ]
    )
    assert weak.exit_code != 0
    assert "too common" in weak.output
    taken = runner.invoke(
        args=[
            "create-admin",
            "--username",
            "Alice",
            "--email",
            "b@example.com",
            "--password",
            PASSWORD,
        ]
    )
    assert taken.exit_code != 0
    assert "already exists" in taken.output


def test_generate_signing_key_file(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    result = app.test_cli_runner().invoke(args=["generate-signing-key", str(path)])
    assert result.exit_code == 0, result.output
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = app.test_cli_runner().invoke(args=["generate-signing-key", str(path)])
    assert again.exit_code != 0
    assert "never overwritten" in again.output


def test_generate_signing_key_into_a_directory(app: Flask, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.mkdir()
    runner = app.test_cli_runner()
    runner.invoke(args=["generate-signing-key", str(keys)])
    runner.invoke(args=["generate-signing-key", str(keys)])
    assert len(list(keys.glob("*.pem"))) == 2


def test_generate_signing_key_runs_without_an_app(tmp_path: Path) -> None:
    """Production refuses to build the app without a key, so the first key needs no app."""
    import subprocess
    import sys

    path = tmp_path / "first.pem"
    result = subprocess.run(
        [sys.executable, "-m", "auth_service", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"APP_ENV": "production", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert isinstance(
        serialization.load_pem_private_key(path.read_bytes(), password=None), Ed25519PrivateKey
    )


def test_grant_role_gives_a_role_and_ends_the_users_sessions(app: Flask, user: User) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["grant-role", "alice", "author"])
    assert result.exit_code == 0, result.output
    assert "alice now has the roles reader, author" in result.output
    with app.app_context():
        granted = db.session.get(User, user.id)
        assert granted is not None
        assert set(granted.roles) == {"reader", "author"}
        assert granted.tokens_valid_after is not None  # signed out everywhere
    again = runner.invoke(args=["grant-role", "alice", "author"])
    assert "already has the role author" in again.output
    assert runner.invoke(args=["grant-role", "nobody", "author"]).exit_code != 0
    assert runner.invoke(args=["grant-role", "alice", "emperor"]).exit_code != 0
