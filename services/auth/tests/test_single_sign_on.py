"""What blog and api see: a small app built like them (servicekit's cookie login and bearer
helpers, auth's JWKS, the shared revocation store) trusts auth's tokens until auth ends them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from auth_service.models import User
from servicekit.bearer import bearer_identity
from servicekit.identity import init_identity
from servicekit.identitycookie import install_cookie_login
from tests.conftest import identity_cookie, login, post_form
from tests.factories import PASSWORD, make_user
from tests.test_api import get_token


def make_relying_app(auth: Flask, auth_client: FlaskClient) -> Flask:
    """A stand-in for blog and api: verifies with auth's public keys only."""
    relying = Flask("relying")
    relying.config.update(
        SECRET_KEY="relying-app-test-secret",
        AUTH_JWKS=auth_client.get("/.well-known/jwks.json").get_json(),
        AUTH_ISSUER=auth.config["AUTH_ISSUER"],
        AUTH_AUDIENCE=auth.config["AUTH_AUDIENCE"],
        REVOCATION_STORE_URI=auth.config["REVOCATION_STORE_URI"],
        IDENTITY_COOKIE_NAME="identity",
    )
    init_identity(relying)
    install_cookie_login(relying, LoginManager())

    @relying.get("/whoami")
    def whoami() -> Response:  # like a blog page
        if not current_user.is_authenticated:
            return jsonify(user=None)
        return jsonify(user=current_user.name, roles=sorted(current_user.roles))

    @relying.get("/api/me")
    def me() -> Response:  # like an api resource: bearer only
        identity = bearer_identity()
        return jsonify(user=identity.name)

    return relying


def blog_sees(relying: Flask, cookie: str | None) -> str | None:
    client = relying.test_client()
    if cookie:
        client.set_cookie("identity", cookie)
    user: str | None = client.get("/whoami").get_json()["user"]
    return user


def api_status(relying: Flask, token: str) -> int:
    response = relying.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def _logout(client: FlaskClient, app: Flask) -> None:
    post_form(client, "/logout")


def _change_password(client: FlaskClient, app: Flask) -> None:
    new = "a brand new long password"
    post_form(client, "/account/password", current_password=PASSWORD, password=new, confirm=new)


def _deactivate(client: FlaskClient, app: Flask) -> None:
    post_form(client, "/account/deactivate", current_password=PASSWORD)


def _role_change(client: FlaskClient, app: Flask) -> None:
    admin = app.test_client()
    make_user(app, "root", roles=("admin",))
    login(admin, "root")
    version = admin.get("/admin/users/1").get_data(as_text=True).split('name="version"')[1]
    version_value = version.split('value="')[1].split('"')[0]
    post_form(admin, "/admin/users/1/roles", roles="author", version=version_value)


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
