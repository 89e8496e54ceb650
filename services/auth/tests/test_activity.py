"""Security activity: events stored with address and browser, shown to the user and to admins."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from auth_service.activity import RECENT, SecurityEvent
from auth_service.extensions import db
from auth_service.models import User
from tests.support import PASSWORD, login, post_form

BROWSER = {"User-Agent": "TestBrowser/1.0 (the test suite)"}


def events(app: Flask) -> list[SecurityEvent]:
    with app.app_context():
        found = list(db.session.scalars(db.select(SecurityEvent).order_by(SecurityEvent.id)))
        db.session.expunge_all()
        return found


def test_sign_ins_and_failures_are_stored_with_address_and_browser(
    app: Flask, client: FlaskClient, user: User
) -> None:
    client.environ_base.update(HTTP_USER_AGENT=BROWSER["User-Agent"], REMOTE_ADDR="203.0.113.7")
    login(client, password="not the password")
    login(client)

    failed, signed_in = events(app)
    assert (failed.kind, signed_in.kind) == ("login_failed", "login")
    assert {failed.user_id, signed_in.user_id} == {user.id}
    assert signed_in.ip == "203.0.113.7"
    assert signed_in.user_agent == BROWSER["User-Agent"]
    assert signed_in.details == {"remember": False, "method": "password"}


def test_failures_for_unknown_accounts_store_nothing(app: Flask, client: FlaskClient) -> None:
    login(client, login="nobody")
    assert events(app) == []


def test_the_account_page_lists_recent_events_and_says_what_to_do(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client, password="wrong password")
    login(client)
    page = client.get("/account").get_data(as_text=True)
    assert "Failed sign-in (wrong password)" in page
    assert "Signed in" in page
    assert "wasn&#39;t you" in page or "wasn't you" in page


def test_only_the_latest_twenty_are_shown(app: Flask, client: FlaskClient, user: User) -> None:
    with app.app_context():
        db.session.add_all(
            SecurityEvent(user_id=user.id, kind="password_changed", details={})
            for _ in range(RECENT + 5)
        )
        db.session.commit()
    login(client)
    page = client.get("/account").get_data(as_text=True)
    table = page.split('id="activity"')[1].split("</table>")[0]
    assert table.count("<tr>") == RECENT + 1  # the header row and twenty events
    assert "Signed in" in table  # the newest is there


def test_changes_are_recorded(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    post_form(client, "/account/email", email="alice@example.org", current_password=PASSWORD)
    post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password="another good passphrase",
        confirm="another good passphrase",
    )
    kinds = [event.kind for event in events(app)]
    # The address changes only when the link sent to it is followed (test_verification.py).
    assert kinds == ["login", "email_change_requested", "password_changed"]


def test_admins_see_a_users_events_and_others_do_not(
    app: Flask, client: FlaskClient, user: User, admin: User
) -> None:
    login(client, password="wrong password")
    root = app.test_client()
    login(root, "root")
    page = root.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Failed sign-in (wrong password)" in page

    login(client)
    assert client.get(f"/admin/users/{user.id}").status_code == 403


def test_an_admins_changes_show_in_the_users_activity(
    app: Flask, client: FlaskClient, user: User, admin: User
) -> None:
    root = app.test_client()
    login(root, "root")
    page = f"/admin/users/{user.id}"
    html = root.get(page).get_data(as_text=True)
    version = re.search(r'name="version" type="hidden" value="(\d+)"', html)
    assert version
    post_form(root, f"{page}/roles", roles=["author"], version=version.group(1))

    login(client)
    assert "Roles changed by an administrator" in client.get("/account").get_data(as_text=True)
