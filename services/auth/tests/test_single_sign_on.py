"""What blog and api see: a small app built like them (servicekit's cookie login and bearer
helpers, auth's JWKS, the shared revocation store) trusts auth's tokens until auth ends them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from tests.support import (
    _change_password,
    _deactivate,
    _logout,
    _role_change,
    api_status,
    blog_sees,
    get_token,
    identity_cookie,
    login,
    make_relying_app,
    make_user,
    post_form,
)


@pytest.mark.parametrize(
    "end_sessions",
    [_logout, _change_password, _deactivate, _role_change],
    ids=["logout", "password-change", "deactivation", "role-change"],
)
def test_cookie_and_token_captured_before_are_refused_after(
    app: Flask,
    client: FlaskClient,
    user: User,
    end_sessions: Callable[[FlaskClient, Flask], None],
) -> None:
    login(client)
    cookie = identity_cookie(client)
    token = get_token(app.test_client())
    relying = make_relying_app(app, client)
    assert blog_sees(relying, cookie) == "alice"
    assert api_status(relying, token) == 200

    end_sessions(client, app)

    assert blog_sees(relying, cookie) is None
    assert api_status(relying, token) == 401


def test_blog_follows_a_fresh_login(app: Flask, client: FlaskClient, user: User) -> None:
    relying = make_relying_app(app, client)
    assert blog_sees(relying, None) is None
    login(client)
    post_form(client, "/logout")
    login(client)  # right after the logout: the new token is newer than the revocation mark
    assert blog_sees(relying, identity_cookie(client)) == "alice"


def test_blog_sees_the_roles(app: Flask, client: FlaskClient) -> None:
    make_user(app, "writer", roles=("author",))
    login(client, "writer")
    relying = make_relying_app(app, client)
    user = relying.test_client()
    user.set_cookie("identity", identity_cookie(client) or "")
    assert user.get("/whoami").get_json()["roles"] == ["author", "reader"]
