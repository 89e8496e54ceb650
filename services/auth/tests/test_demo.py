"""The demo accounts of a fresh development instance: made once, never outside development."""

from __future__ import annotations

import pytest
from flask import Flask

from auth_service.demo import NotDevelopmentError, create_demo_accounts
from auth_service.extensions import db
from auth_service.models import User
from tests.support import login, make_user


@pytest.mark.parametrize("app_env", ["production", "testing"])
def test_refused_outside_development(app: Flask, app_env: str) -> None:
    app.config["APP_ENV"] = app_env
    with app.app_context(), pytest.raises(NotDevelopmentError, match="APP_ENV=development"):
        create_demo_accounts()
    with app.app_context():
        assert db.session.query(User).count() == 0


def test_an_empty_development_instance_gets_an_admin_and_an_author(app: Flask) -> None:
    app.config["APP_ENV"] = "development"
    with app.app_context():
        made = create_demo_accounts()
        stored = {user.username: user for user in db.session.query(User)}
        assert {account.username: account.roles for account in made} == {
            "demo-admin": ("reader", "author", "admin"),
            "demo-author": ("reader", "author"),
        }
        for account in made:
            assert stored[account.username].email_verified
            assert account.password not in stored[account.username].password_hash
    for account in made:
        client = app.test_client()
        response = login(client, account.username, account.password)
        assert response.status_code == 302, account.username
    with app.app_context():
        assert create_demo_accounts() == [], "made once per instance"


def test_an_instance_with_users_gets_none(app: Flask) -> None:
    make_user(app, "alice")
    app.config["APP_ENV"] = "development"
    with app.app_context():
        assert create_demo_accounts() == []
        assert [user.username for user in db.session.query(User)] == ["alice"]
