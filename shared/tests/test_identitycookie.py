"""servicekit.identitycookie: signing browser users in from the identity cookie."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, jsonify
from flask_login import LoginManager, current_user

from servicekit.identity import get_verifier, init_identity
from servicekit.identitycookie import (
    clear_identity_cookie,
    install_cookie_login,
    roles_required,
    set_identity_cookie,
    signed_in_required,
)
from servicekit.revocation import MemoryRevocationStore
from servicekit.testing import TestTokenIssuer
from tests.support import AppFactory


@pytest.fixture
def browser_app(make_app: AppFactory, key: TestTokenIssuer) -> Flask:
    app = make_app("html", AUTH_JWKS=key.jwks(), REVOCATION_STORE_URI="memory://browser-tests")
    init_identity(app)
    install_cookie_login(app, LoginManager())

    @app.get("/me")
    def me() -> Any:
        return jsonify(user=current_user.name if current_user.is_authenticated else None)

    @app.get("/write")
    @roles_required("author")
    def write() -> str:
        return "editor"

    @app.get("/comment")
    @signed_in_required
    def comment_form() -> str:
        return "comment"

    return app


def test_cookie_login(browser_app: Flask, key: TestTokenIssuer) -> None:
    client = browser_app.test_client()
    assert client.get("/me").get_json() == {"user": None}
    client.set_cookie("identity", key.mint(name="carol"))
    assert client.get("/me").get_json() == {"user": "carol"}


def test_a_token_limited_to_scopes_is_no_cookie(browser_app: Flask, key: TestTokenIssuer) -> None:
    client = browser_app.test_client()
    client.set_cookie("identity", key.mint(name="carol", scope="tasks:read"))
    assert client.get("/me").get_json() == {"user": None}


def test_bad_cookie_is_anonymous(browser_app: Flask) -> None:
    client = browser_app.test_client()
    client.set_cookie("identity", "garbage")
    assert client.get("/me").get_json() == {"user": None}


def test_signed_in_required_takes_anyone_signed_in_and_sends_strangers_to_login(
    browser_app: Flask, key: TestTokenIssuer
) -> None:
    client = browser_app.test_client()
    stranger = client.get("/comment")
    assert stranger.status_code == 302
    assert stranger.headers["Location"] == "/auth/login?next=/comment"
    client.set_cookie("identity", key.mint(roles=["reader"]))
    assert client.get("/comment").get_data(as_text=True) == "comment"


def test_roles_required_sends_strangers_to_login(browser_app: Flask) -> None:
    response = browser_app.test_client().get("/write?draft=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/write%3Fdraft%3D1"


def test_roles_required_forbids_the_wrong_role(browser_app: Flask, key: TestTokenIssuer) -> None:
    client = browser_app.test_client()
    client.set_cookie("identity", key.mint(roles=["reader"]))
    assert client.get("/write").status_code == 403
    client.set_cookie("identity", key.mint(roles=["author"]))
    assert client.get("/write").get_data(as_text=True) == "editor"


# -- When the revocation store cannot answer: read pages, never write -----------------------------


@pytest.fixture
def degraded_browser_app(browser_app: Flask, down_store: MemoryRevocationStore) -> Flask:
    with browser_app.app_context():
        get_verifier().revocations = down_store

    @browser_app.post("/comment")
    def comment() -> Any:
        return jsonify(user=current_user.name if current_user.is_authenticated else None)

    return browser_app


def test_pages_still_render_for_a_signed_in_reader_when_revocations_cannot_be_checked(
    degraded_browser_app: Flask, key: TestTokenIssuer
) -> None:
    client = degraded_browser_app.test_client()
    client.set_cookie("identity", key.mint(name="carol"))
    assert client.get("/me").get_json() == {"user": "carol"}


def test_writes_are_refused_when_revocations_cannot_be_checked(
    degraded_browser_app: Flask, key: TestTokenIssuer
) -> None:
    client = degraded_browser_app.test_client()
    client.set_cookie("identity", key.mint(name="carol"))
    response = client.post("/comment")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "cannot confirm your sign-in" in response.get_data(as_text=True)
    # An anonymous write is not about identity at all: it goes on.
    client.delete_cookie("identity")
    assert client.post("/comment").get_json() == {"user": None}


# -- Setting and clearing the cookie (auth at login and logout, blog's development sign-in) -------


@pytest.fixture
def cookie_app(make_app: AppFactory) -> Flask:
    app = make_app("html", SESSION_COOKIE_SECURE=True)

    @app.get("/set")
    def set_cookie() -> Any:
        return set_identity_cookie(jsonify(ok=True), "a.token.value", max_age=300)

    @app.get("/clear")
    def clear_cookie() -> Any:
        return clear_identity_cookie(jsonify(ok=True))

    return app


def test_the_identity_cookie_is_set_for_the_whole_origin_and_hidden_from_scripts(
    cookie_app: Flask,
) -> None:
    header = cookie_app.test_client().get("/set").headers["Set-Cookie"]
    assert header.startswith("identity=a.token.value;")
    for attribute in ("Max-Age=300", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"):
        assert attribute in header


def test_clearing_the_identity_cookie_expires_it_with_the_same_attributes(
    cookie_app: Flask,
) -> None:
    client = cookie_app.test_client()
    client.get("/set")
    header = client.get("/clear").headers["Set-Cookie"]
    assert header.startswith("identity=;")
    for attribute in ("Max-Age=0", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"):
        assert attribute in header
    assert client.get_cookie("identity") is None
