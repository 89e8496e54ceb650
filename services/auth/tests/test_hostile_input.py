"""Replays of what an external review sent auth: each was a 500 (NUL bytes on PostgreSQL only).

Each must pass on SQLite and on PostgreSQL (``nox -s postgres``).
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from tests.support import PASSWORD, login, post_form

HUGE = "99999999999999999999"
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def admin_client(app: Flask, admin: User) -> FlaskClient:
    client = app.test_client()
    assert login(client, "root").status_code == 302
    return client


def test_a_huge_page_of_users_is_an_empty_page(admin_client: FlaskClient) -> None:
    response = admin_client.get(f"/admin/users?page={HUGE}")
    assert response.status_code == 200
    assert "/admin/users/1" not in response.get_data(as_text=True)


@pytest.mark.parametrize("user_id", [HUGE, str(2**31), "9" * 5000])
def test_a_huge_user_id_is_a_404(admin_client: FlaskClient, user_id: str) -> None:
    assert admin_client.get(f"/admin/users/{user_id}").status_code == 404
    response = post_form(admin_client, f"/admin/users/{user_id}/roles", roles="admin", version=1)
    assert response.status_code == 404


def test_a_nul_byte_in_the_user_search_is_a_400(admin_client: FlaskClient) -> None:
    response = admin_client.get("/admin/users?q=ro%00ot")
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)


def test_a_nul_byte_in_the_login_form_is_a_400(client: FlaskClient, user: User) -> None:
    response = login(client, "ali\x00ce")
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)
    assert "auth_session" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"username": "ali\x00ce", "password": PASSWORD}, "username", "NUL"),
        ({"username": "\ud800", "password": PASSWORD}, "username", "valid Unicode"),
        ({"username": "alice", "password": "pass\udfffword"}, "password", "valid Unicode"),
    ],
)
def test_unstorable_text_in_the_token_api_is_a_422_naming_the_field(
    client: FlaskClient, user: User, body: dict[str, str], field: str, message: str
) -> None:
    response = client.post("/api/token", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert message in response.get_json()["errors"][field][0]


def test_deeply_nested_json_is_a_400_that_counts_toward_the_ip_limit(
    app: Flask, client: FlaskClient
) -> None:
    app.config["LOGIN_RATE_LIMIT_IP"] = "3 per minute"
    headers = {"Content-Type": "application/json"}
    for _ in range(3):
        response = client.post("/api/token", data=DEEP, headers=headers)
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
    assert client.post("/api/token", data=DEEP, headers=headers).status_code == 429
