"""Admin pages: only for admins; users list with search and pages; roles; (de)activation."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.extensions import db
from auth_service.models import User
from tests.support import login, make_user, post_form


def version_of(client: FlaskClient, user_id: int) -> str:
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    match = re.search(r'name="version" type="hidden" value="(\d+)"', page)
    assert match
    return match.group(1)


def reload(app: Flask, user_id: int) -> User:
    with app.app_context():
        found = db.session.get(User, user_id)
        assert found is not None
        db.session.expunge(found)
        return found


@pytest.fixture
def admin_client(app: Flask, admin: User) -> FlaskClient:
    client = app.test_client()
    login(client, "root")
    return client


def test_anonymous_users_are_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_non_admins_get_403(client: FlaskClient, user: User) -> None:
    login(client)
    assert client.get("/admin/users").status_code == 403
    assert (
        post_form(client, f"/admin/users/{user.id}/roles", roles="admin", version="1").status_code
        == 403
    )


def test_users_list_is_paginated(app: Flask, admin_client: FlaskClient) -> None:
    app.config["USERS_PER_PAGE"] = 3
    for number in range(5):
        make_user(app, f"user{number}")
    first = admin_client.get("/admin/users").get_data(as_text=True)
    assert "6 users" in first
    assert "user4" in first
    assert "user1" not in first
    assert "Page 1 of 2" in first
    second = admin_client.get("/admin/users?page=2").get_data(as_text=True)
    assert "user1" in second
    assert "root" in second
    assert admin_client.get("/admin/users?page=99").status_code == 200
    assert admin_client.get("/admin/users?page=abc").status_code == 200


def test_users_list_search(app: Flask, admin_client: FlaskClient) -> None:
    make_user(app, "carol", email="carol@corp.example")
    make_user(app, "dave")
    by_name = admin_client.get("/admin/users?q=CAR").get_data(as_text=True)
    assert "carol" in by_name
    assert "dave" not in by_name
    by_email = admin_client.get("/admin/users?q=corp.example").get_data(as_text=True)
    assert "carol" in by_email
    assert "No users found" in admin_client.get("/admin/users?q=zzz").get_data(as_text=True)


def test_unknown_user_is_404(admin_client: FlaskClient) -> None:
    assert admin_client.get("/admin/users/999").status_code == 404


def test_change_roles(app: Flask, admin_client: FlaskClient, user: User) -> None:
    other = app.test_client()
    login(other)
    response = post_form(
        admin_client,
        f"/admin/users/{user.id}/roles",
        roles="author",
        version=version_of(admin_client, user.id),
    )
    assert response.status_code == 302
    assert reload(app, user.id).roles == ["reader", "author"]
    assert other.get("/account").status_code == 302  # signed out: the new roles apply now
    login(other)
    assert "reader, author" in other.get("/account").get_data(as_text=True)


def test_roles_form_without_csrf_is_refused(
    app: Flask, admin_client: FlaskClient, user: User
) -> None:
    response = admin_client.post(
        f"/admin/users/{user.id}/roles", data={"roles": "admin", "version": "1"}
    )
    assert response.status_code == 400
    assert reload(app, user.id).roles == ["reader"]


def test_unknown_role_is_refused(app: Flask, admin_client: FlaskClient, user: User) -> None:
    response = post_form(
        admin_client,
        f"/admin/users/{user.id}/roles",
        roles="god",
        version=version_of(admin_client, user.id),
    )
    assert response.status_code == 400
    assert "is not a valid choice" in response.get_data(as_text=True)
    assert reload(app, user.id).roles == ["reader"]


def test_a_stale_form_does_not_overwrite(app: Flask, admin_client: FlaskClient, user: User) -> None:
    stale = version_of(admin_client, user.id)
    post_form(admin_client, f"/admin/users/{user.id}/roles", roles="author", version=stale)
    response = post_form(
        admin_client, f"/admin/users/{user.id}/roles", roles="admin", version=stale
    )
    assert response.status_code == 409
    assert "Someone changed this user" in response.get_data(as_text=True)
    assert reload(app, user.id).roles == ["reader", "author"]


def test_the_last_admin_keeps_the_role(app: Flask, admin_client: FlaskClient, admin: User) -> None:
    response = post_form(
        admin_client,
        f"/admin/users/{admin.id}/roles",
        roles="author",
        version=version_of(admin_client, admin.id),
    )
    assert response.status_code == 409
    assert "last active admin" in response.get_data(as_text=True)
    assert "admin" in reload(app, admin.id).roles


def test_deactivate_and_reactivate(app: Flask, admin_client: FlaskClient, user: User) -> None:
    victim = app.test_client()
    login(victim)
    response = post_form(
        admin_client,
        f"/admin/users/{user.id}/activation",
        version=version_of(admin_client, user.id),
    )
    assert response.status_code == 302
    assert not reload(app, user.id).active
    assert victim.get("/account").status_code == 302
    assert "Invalid username or password." in login(victim).get_data(as_text=True)
    assert "deactivated" in admin_client.get("/admin/users").get_data(as_text=True)

    post_form(
        admin_client,
        f"/admin/users/{user.id}/activation",
        version=version_of(admin_client, user.id),
    )
    assert reload(app, user.id).active
    assert login(victim).status_code == 302


def test_admins_cannot_deactivate_themselves_here(
    app: Flask, admin_client: FlaskClient, admin: User
) -> None:
    response = post_form(
        admin_client,
        f"/admin/users/{admin.id}/activation",
        version=version_of(admin_client, admin.id),
    )
    assert response.status_code == 409
    assert reload(app, admin.id).active


def test_stale_activation_form_is_refused(
    app: Flask, admin_client: FlaskClient, user: User
) -> None:
    stale = version_of(admin_client, user.id)
    post_form(admin_client, f"/admin/users/{user.id}/activation", version=stale)
    response = post_form(admin_client, f"/admin/users/{user.id}/activation", version=stale)
    assert response.status_code == 409
    assert not reload(app, user.id).active


def test_activation_form_needs_a_version(app: Flask, admin_client: FlaskClient, user: User) -> None:
    response = post_form(admin_client, f"/admin/users/{user.id}/activation", version="x")
    assert response.status_code == 400
    assert reload(app, user.id).active


def test_admin_link_only_for_admins(
    client: FlaskClient, admin_client: FlaskClient, user: User
) -> None:
    assert "/admin/users" in admin_client.get("/account").get_data(as_text=True)
    login(client)
    assert "/admin/users" not in client.get("/account").get_data(as_text=True)


def test_search_wildcards_are_plain_characters(app: Flask, admin_client: FlaskClient) -> None:
    make_user(app, "dave")
    assert "No users found" in admin_client.get("/admin/users?q=%25").get_data(as_text=True)
    assert "No users found" in admin_client.get("/admin/users?q=d_ve").get_data(as_text=True)
