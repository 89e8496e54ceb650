"""The app as a whole: prefixes, pages, static files, health."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from servicekit.testing import csrf_token_in
from tests.support import PASSWORD


def test_under_the_auth_prefix_every_url_and_redirect_is_prefixed(app: Flask, user: User) -> None:
    """Behind the gateway auth is mounted at /auth (SCRIPT_NAME); cookies still cover the origin."""
    client = app.test_client()
    page = client.get("/login", base_url="http://localhost/auth").get_data(as_text=True)
    assert 'action="/auth/login"' in page
    assert 'href="/auth/static/auth.css?v=' in page
    assert 'href="/auth/static/servicekit/site.css?v=' in page
    token = csrf_token_in(page)
    assert token
    response = client.post(
        "/login",
        base_url="http://localhost/auth",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/auth/account"
    identity = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("identity="))
    assert "Path=/;" in identity or identity.endswith("Path=/")
    jwks = client.get("/.well-known/jwks.json", base_url="http://localhost/auth")
    assert jwks.status_code == 200


def test_pages_have_labels_landmarks_and_no_inline_script_or_style(client: FlaskClient) -> None:
    for path in ("/login", "/register"):
        page = client.get(path).get_data(as_text=True)
        assert '<main id="content">' in page
        assert '<nav aria-label="Main">' in page
        for field_id in re.findall(
            r'<input[^>]+type="(?:text|email|password)"[^>]*id="([^"]+)"', page
        ):
            assert f'<label for="{field_id}">' in page
        assert "<script" not in page
        assert "style=" not in page
        assert "<style" not in page


def test_field_errors_are_announced(client: FlaskClient) -> None:
    from tests.support import post_form

    page = post_form(client, "/register", username="x").get_data(as_text=True)
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="username-errors"' in page


def test_static_files_are_versioned_by_content(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    # auth's own stylesheet and the site's, which servicekit ships
    for sheet in (r"/static/auth\.css", r"/static/servicekit/site\.css"):
        match = re.search(rf'href="({sheet}\?v=([0-9a-f]{{12}}))"', page)
        assert match, sheet
        with client.get(match.group(1)) as response:
            assert response.status_code == 200
            assert response.mimetype == "text/css"


def test_security_headers_and_health(client: FlaskClient) -> None:
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Request-ID"]
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/readyz").get_json()["checks"] == {"database": "ok"}


def test_unknown_pages_use_the_service_layout(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert "Sign in" in response.get_data(as_text=True)  # the base layout's navigation
