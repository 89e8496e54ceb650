"""Email verification after registration, the resend button, admins, and email changes."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from auth_service.extensions import db
from auth_service.models import User
from tests.support import PASSWORD, AppFactory, last_link, login, make_user, outbox, post_form


def register(client: FlaskClient, username: str = "bob") -> Any:
    password = "purple monkey dishwasher"
    return post_form(client, "/register", username=username, email=f"{username}@example.com",
                     password=password, confirm=password)  # fmt: skip


def follow(client: FlaskClient, path: str) -> Any:
    """Open an emailed link and press its confirm button."""
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return post_form(client, path)


def verified_at(app: Flask, username: str) -> object:
    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        assert user is not None
        return user.email_verified_at


def test_registration_sends_a_link_and_the_account_says_unverified(
    app: Flask, client: FlaskClient
) -> None:
    response = register(client)
    assert response.status_code == 302
    [message] = outbox(app)
    assert (message.kind, message.recipient) == ("verify_email", "bob@example.com")
    assert message.status == "pending"
    page = client.get("/account").get_data(as_text=True)
    assert "not verified" in page
    assert "Send the link again" in page
    assert verified_at(app, "bob") is None


def test_following_the_link_verifies_the_address(app: Flask, client: FlaskClient) -> None:
    register(client)
    path = last_link(app, "bob@example.com", "verify_email")
    page = client.get(path)
    assert "Confirm bob@example.com" in page.get_data(as_text=True)
    assert verified_at(app, "bob") is None  # a GET (a mail scanner) changes nothing
    done = post_form(client, path)
    assert done.status_code == 302
    assert verified_at(app, "bob") is not None
    page_after = client.get("/account").get_data(as_text=True)
    assert "not verified" not in page_after
    assert "Send the link again" not in page_after


def test_an_anonymous_browser_can_verify_too(app: Flask, client: FlaskClient) -> None:
    register(client)
    path = last_link(app, "bob@example.com", "verify_email")
    other = app.test_client()
    assert follow(other, path).headers["Location"] == "/login"
    assert verified_at(app, "bob") is not None


def test_a_tampered_link_is_refused(app: Flask, client: FlaskClient) -> None:
    register(client)
    path = last_link(app, "bob@example.com", "verify_email")
    assert client.get(path[:-3] + "xyz").status_code == 400
    assert client.post(path[:-3] + "xyz").status_code == 400
    assert verified_at(app, "bob") is None


def test_send_again_is_rate_limited(app_factory: AppFactory) -> None:
    app = app_factory({"VERIFICATION_RATE_LIMIT": "2 per hour"})
    client = app.test_client()
    register(client)
    statuses = [post_form(client, "/account/verification").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert [m.kind for m in outbox(app)] == ["verify_email"] * 3


def test_send_again_needs_login_and_does_nothing_once_verified(
    app: Flask, client: FlaskClient, user: User
) -> None:
    assert post_form(client, "/account/verification").status_code == 302
    login(client)
    post_form(client, "/account/verification")
    assert outbox(app) == []  # alice (from the factory) is verified already


def test_admins_see_the_state_and_cannot_make_unverified_users_authors(
    app: Flask, client: FlaskClient, admin: User
) -> None:
    make_user(app, "carol", verified=False)
    login(client, "root")
    listing = client.get("/admin/users").get_data(as_text=True)
    assert '<th scope="col">Verified</th>' in listing
    carol = make_user(app, "dora", verified=False)
    page = client.get(f"/admin/users/{carol.id}").get_data(as_text=True)
    assert "not verified" in page
    refused = post_form(
        client, f"/admin/users/{carol.id}/roles", roles=["author"], version=carol.version
    )
    assert refused.status_code == 409
    assert "must verify their email address first" in refused.get_data(as_text=True)
    with app.app_context():
        stored = db.session.get(User, carol.id)
        assert stored is not None
        assert stored.roles == ["reader"]


def test_a_setting_lets_unverified_users_become_authors(app_factory: AppFactory) -> None:
    app = app_factory({"UNVERIFIED_AUTHORS": True})
    make_user(app, "root", roles=("reader", "author", "admin"))
    carol = make_user(app, "carol", verified=False)
    client = app.test_client()
    login(client, "root")
    done = post_form(
        client, f"/admin/users/{carol.id}/roles", roles=["author"], version=carol.version
    )
    assert done.status_code == 302


# -- changing the address -------------------------------------------------------------------


def request_change(client: FlaskClient, email: str) -> Any:
    return post_form(client, "/account/email", email=email, current_password=PASSWORD)


def test_an_email_change_applies_only_from_the_link(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client)
    assert request_change(client, "new@example.com").status_code == 302
    confirm, notice = outbox(app)
    assert (confirm.kind, confirm.recipient) == ("email_change_confirm", "new@example.com")
    assert (notice.kind, notice.recipient) == ("email_change_notice", "alice@example.com")
    assert "new@example.com" in notice.text_body
    assert "/password/forgot" in notice.text_body
    with app.app_context():
        assert db.session.get(User, user.id).email == "alice@example.com"  # type: ignore[union-attr]

    path = last_link(app, "new@example.com", "email_change_confirm")
    assert follow(client, path).status_code == 302
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored is not None
        assert stored.email == "new@example.com"
        assert stored.email_verified  # the link reached the new address
    # Used: the link names the old address, which the account no longer has.
    assert client.get(path).status_code == 400


def test_an_old_verification_link_dies_with_the_address(app: Flask, client: FlaskClient) -> None:
    register(client)
    old_link = last_link(app, "bob@example.com", "verify_email")
    request_change_for_bob = post_form(client, "/account/email", email="robert@example.com",
                                       current_password="purple monkey dishwasher")  # fmt: skip
    assert request_change_for_bob.status_code == 302
    follow(client, last_link(app, "robert@example.com", "email_change_confirm"))
    assert client.get(old_link).status_code == 400


def test_an_address_taken_meanwhile_is_not_applied(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client)
    request_change(client, "shared@example.com")
    path = last_link(app, "shared@example.com", "email_change_confirm")
    make_user(app, "eve", email="shared@example.com")
    client.get(path)
    response = post_form(client, path)
    assert response.status_code == 409
    assert "Another account uses this address" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).email == "alice@example.com"  # type: ignore[union-attr]


def test_an_email_change_link_is_signed(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    request_change(client, "new@example.com")
    path = last_link(app, "new@example.com", "email_change_confirm")
    assert client.get(path + "x").status_code == 400


def test_verification_and_email_changes_are_in_the_security_activity(
    app: Flask, client: FlaskClient
) -> None:
    register(client)
    follow(client, last_link(app, "bob@example.com", "verify_email"))
    post_form(client, "/account/email", email="robert@example.com",
              current_password="purple monkey dishwasher")  # fmt: skip
    follow(client, last_link(app, "robert@example.com", "email_change_confirm"))
    page = client.get("/account").get_data(as_text=True)
    for description in (
        "Email address verified",
        "Email change asked for",
        "Email address changed",
    ):
        assert description in page
