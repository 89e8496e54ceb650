"""argon2id at the ASVS floor, upgraded hashes on login, the common-passwords list."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import create_app
from auth_service.extensions import db
from auth_service.models import User
from auth_service.passwords import common_passwords
from servicekit.settings import ConfigError
from tests.support import PASSWORD, login


def stored_hash(app: Flask, user_id: int) -> str:
    with app.app_context():
        found = db.session.get(User, user_id)
        assert found is not None
        return found.password_hash


def test_default_parameters_are_the_asvs_floor(tmp_path: Path) -> None:
    app = create_app(environ={"APP_ENV": "development", "AUTH_INSTANCE_PATH": str(tmp_path)})
    assert app.config["ARGON2_MEMORY_COST"] == 47104
    assert app.config["ARGON2_TIME_COST"] == 1
    assert app.config["ARGON2_PARALLELISM"] == 1


def test_cheaper_parameters_are_refused_outside_tests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ASVS"):
        create_app(
            environ={
                "APP_ENV": "development",
                "AUTH_INSTANCE_PATH": str(tmp_path),
                "AUTH_ARGON2_MEMORY_COST": "19456",
            }
        )


def test_hashes_are_argon2id_with_the_configured_parameters(app: Flask, user: User) -> None:
    assert stored_hash(app, user.id).startswith("$argon2id$v=19$m=64,t=1,p=1$")


def test_login_upgrades_a_hash_made_with_older_parameters(
    app: Flask, client: FlaskClient, user: User
) -> None:
    app.config["ARGON2_TIME_COST"] = 2
    app.extensions.pop("auth_service.hasher")  # the hasher is built once per app
    login(client, "alice", "wrong password")
    assert "t=1" in stored_hash(app, user.id)  # a failed login changes nothing
    assert login(client).status_code == 302
    assert stored_hash(app, user.id).startswith("$argon2id$v=19$m=64,t=2,p=1$")
    client.delete_cookie("auth_session")
    assert login(client).status_code == 302  # and the new hash verifies


def test_the_common_passwords_list_ships_with_the_package() -> None:
    words = common_passwords()
    assert len(words) > 3000
    assert {"password", "qwerty123", "iloveyou", "12345678", "1q2w3e4r"} <= words
    assert all(len(word) >= 8 for word in words)
    assert PASSWORD not in words
