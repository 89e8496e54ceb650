"""auth's pages in the site's shared look: ids unique on every page, two forms or more."""

from __future__ import annotations

import re
from collections import Counter

from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from tests.support import login, make_user

ID = re.compile(r'\sid="([^"]+)"')


def duplicate_ids(page: str) -> list[str]:
    return [name for name, count in Counter(ID.findall(page)).items() if count > 1]


def test_every_page_has_unique_ids(app: Flask, client: FlaskClient, admin: User) -> None:
    unverified = make_user(app, "grace")
    with app.app_context():
        user_id = unverified.id
    for url in ("/login", "/register", "/forgot"):
        page = client.get(url).get_data(as_text=True)
        assert duplicate_ids(page) == [], url
    login(client, "root")
    # The account page holds a form per change (password, email, deactivation, each device):
    # their fields share names, and their ids must still differ.
    for url in (
        "/account",
        "/account/two-factor",
        "/account/tokens",
        "/admin/users",
        f"/admin/users/{user_id}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert duplicate_ids(page) == [], url


def test_fields_of_two_forms_get_prefixed_ids_and_keep_their_names(
    client: FlaskClient, user: User
) -> None:
    login(client)
    page = client.get("/account").get_data(as_text=True)
    # "current_password" is in three forms; the names the views read stay as they were
    assert '<label for="password-current_password">' in page
    assert 'id="password-current_password"' in page
    assert '<label for="deactivate-current_password">' in page
    assert 'id="deactivate-current_password"' in page
    assert page.count('name="current_password"') == 3  # password, email, deactivation
