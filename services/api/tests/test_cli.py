"""``flask dev-token``: a development-only way to call the API without the auth service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from api_service import create_app
from api_service.extensions import db
from servicekit.testing import TestTokenIssuer


@pytest.fixture
def development_app(tmp_path: Path) -> Iterator[Callable[[], Flask]]:
    """Builds the api in development mode; closes every app's database connections after."""
    apps: list[Flask] = []

    def factory() -> Flask:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.sqlite3'}"},
            environ={"APP_ENV": "development", "API_INSTANCE_PATH": str(tmp_path)},
        )
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_dev_token_prints_a_token_the_development_app_accepts(
    development_app: Callable[[], Flask], tmp_path: Path
) -> None:
    app = development_app()
    result = app.test_cli_runner().invoke(args=["dev-token", "--name", "carol", "--role", "author"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()

    # A fresh app (as after a restart) trusts the key the command created.
    app = development_app()
    with app.app_context():
        db.create_all()
    response = app.test_client().get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert (tmp_path / "dev-signing-key.pem").stat().st_mode & 0o077 == 0
    # The same key is reused, not replaced, by the next call.
    again = app.test_cli_runner().invoke(args=["dev-token"])
    assert again.exit_code == 0
    response = app.test_client().get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_dev_token_refuses_outside_development(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["dev-token"])
    assert result.exit_code != 0
    assert "APP_ENV=development" in result.output


def test_dev_token_refuses_when_a_real_key_source_is_configured(
    tmp_path: Path, token_issuer: TestTokenIssuer
) -> None:
    app = create_app(
        {"AUTH_JWKS": token_issuer.jwks()},
        environ={"APP_ENV": "development", "API_INSTANCE_PATH": str(tmp_path)},
    )
    result = app.test_cli_runner().invoke(args=["dev-token"])
    assert result.exit_code != 0
    assert not (tmp_path / "dev-signing-key.pem").exists()
