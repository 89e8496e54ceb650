"""Password reset by email: the forgot form, the link, and every way a link must fail."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from auth_service.models import User
from servicekit.verifier import TokenVerifier
from tests.support import (
    PASSWORD,
    AppFactory,
    identity_cookie,
    last_link,
    login,
    make_user,
    outbox,
    post_form,
)

NEW_PASSWORD = "a brand new passphrase"


def forgot(client: FlaskClient, name: str) -> Any:
    return post_form(client, "/password/forgot", login=name)


def reset(client: FlaskClient, path: str, password: str = NEW_PASSWORD) -> Any:
    client.get(path)  # the page with the form: a CSRF token for this session
    return post_form(client, path, password=password, confirm=password)


def test_the_login_page_links_to_the_forgot_form(client: FlaskClient) -> None:
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)
    assert "Username or email" in client.get("/password/forgot").get_data(as_text=True)


@pytest.mark.parametrize("name", ["alice", "ALICE@example.com"])
def test_a_reset_link_sets_a_new_password(
    app: Flask, client: FlaskClient, user: User, name: str
) -> None:
    response = forgot(client, name)
    assert response.status_code == 302
    [message] = outbox(app, "alice@example.com")
    assert message.kind == "password_reset"
    assert message.subject == "Reset your password"
    assert "60 minutes" in message.text_body
    assert "Choose a new password" in message.html_body
    assert message.request_id  # the request that queued it, for the sender's log lines

    path = last_link(app, "alice@example.com", "password_reset")
    assert path.startswith("/password/reset/")
    page = client.get(path)
    assert page.status_code == 200
    assert "alice" in page.get_data(as_text=True)
    done = reset(client, path)
    assert done.status_code == 302
    assert done.headers["Location"] == "/login"

    assert "Invalid" in login(client).get_data(as_text=True)
    assert login(client, password=NEW_PASSWORD).status_code == 302
    notice = outbox(app, "alice@example.com")[-1]
    assert notice.kind == "password_changed"


def test_the_forgot_answer_is_the_same_for_unknown_and_inactive_accounts(
    app: Flask, client: FlaskClient, user: User
) -> None:
    make_user(app, "ghost", active=False)
    answers = []
    for name in ["alice", "nobody-here", "nobody@example.com", "ghost"]:
        response = forgot(client, name)
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                client.get("/login").get_data(as_text=True).count("a link to choose"),
            )
        )
    assert answers == [(302, "/login", 1)] * 4
    # Only the real, active account got a message.
    assert [m.recipient for m in outbox(app)] == ["alice@example.com"]


def test_a_reset_ends_every_session_and_token(
    app: Flask, client: FlaskClient, user: User, verifier: TokenVerifier
) -> None:
    login(client, remember="y")
    token = identity_cookie(client)
    assert token
    assert verifier.verify(token)
    assert client.get("/account").status_code == 200

    other = app.test_client()
    forgot(other, "alice")
    reset(other, last_link(app, "alice@example.com", "password_reset"))

    assert client.get("/account").status_code == 302  # session and remember-me cookie dead
    with pytest.raises(Exception, match="revoked"):
        verifier.verify(token)


def test_a_reset_link_works_once(app: Flask, client: FlaskClient, user: User) -> None:
    forgot(client, "alice")
    path = last_link(app, "alice@example.com", "password_reset")
    assert reset(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 400
    assert "does not work" in again.get_data(as_text=True)
    assert reset(client, path, "yet another passphrase").status_code == 400
    assert login(client, password=NEW_PASSWORD).status_code == 302


def test_a_reset_link_dies_when_the_password_changes(
    app: Flask, client: FlaskClient, user: User
) -> None:
    forgot(client, "alice")
    path = last_link(app, "alice@example.com", "password_reset")
    login(client)
    changed = post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password="changed on the account page",
        confirm="changed on the account page",
    )
    assert changed.status_code == 302
    assert client.get(path).status_code == 400


def test_a_tampered_or_foreign_link_is_refused(app: Flask, client: FlaskClient, user: User) -> None:
    forgot(client, "alice")
    path = last_link(app, "alice@example.com", "password_reset")
    token = path.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(f"/password/reset/{tampered}").status_code == 400
    assert client.get("/password/reset/not-a-token").status_code == 400
    # A verification link's token is signed for another purpose.
    post_form(client, "/register", username="bob", email="bob@example.com",
              password="purple monkey dishwasher", confirm="purple monkey dishwasher")  # fmt: skip
    verify_token = last_link(app, "bob@example.com", "verify_email").rsplit("/", 1)[1]
    assert client.get(f"/password/reset/{verify_token}").status_code == 400


def test_an_expired_link_is_refused(
    app: Flask, client: FlaskClient, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A link made an hour and a second ago (the default lifetime is one hour).
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _self: int(time.time()) - 3601)
    forgot(client, "alice")
    monkeypatch.undo()
    path = last_link(app, "alice@example.com", "password_reset")
    assert client.get(path).status_code == 400


def test_the_lifetime_is_a_setting(app_factory: AppFactory) -> None:
    app = app_factory({"PASSWORD_RESET_MAX_AGE": 600})
    make_user(app, "alice")
    client = app.test_client()
    forgot(client, "alice")
    assert "10 minutes" in outbox(app)[0].text_body


def test_the_new_password_follows_the_rules(app: Flask, client: FlaskClient, user: User) -> None:
    forgot(client, "alice")
    path = last_link(app, "alice@example.com", "password_reset")
    refused = reset(client, path, "password123")
    assert refused.status_code == 200
    assert "too common" in refused.get_data(as_text=True)
    assert login(client).status_code == 302  # unchanged
    assert [m.kind for m in outbox(app)] == ["password_reset"]


def test_the_forgot_form_is_rate_limited_per_account(app_factory: AppFactory) -> None:
    app = app_factory({"PASSWORD_RESET_RATE_LIMIT_ACCOUNT": "2 per hour"})
    make_user(app, "alice")
    client = app.test_client()
    assert [forgot(client, "alice").status_code for _ in range(3)] == [302, 302, 429]
    assert len(outbox(app)) == 2
    assert forgot(client, "bob").status_code == 302  # another name has its own budget


def test_the_forgot_form_is_rate_limited_per_ip(app_factory: AppFactory) -> None:
    app = app_factory({"PASSWORD_RESET_RATE_LIMIT_IP": "3 per hour"})
    client = app.test_client()
    statuses = [forgot(client, f"name{n}").status_code for n in range(4)]
    assert statuses == [302, 302, 302, 429]


def test_the_forgot_form_needs_a_csrf_token(client: FlaskClient, app: Flask, user: User) -> None:
    response = client.post("/password/forgot", data={"login": "alice"})
    assert response.status_code == 400
    assert outbox(app) == []


def test_an_unknown_account_costs_the_same_work(
    app: Flask, client: FlaskClient, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing difference to measure: the message is rendered either way, only not stored."""
    import auth_service.recovery.views as views

    rendered: list[str] = []
    real = views.password_reset_mail

    def counting(target: User) -> object:
        rendered.append(target.email)
        return real(target)

    monkeypatch.setattr(views, "password_reset_mail", counting)
    forgot(client, "alice")
    forgot(client, "nobody-here")
    assert rendered == ["alice@example.com", "nobody@invalid"]
    assert [m.recipient for m in outbox(app)] == ["alice@example.com"]


def test_a_reset_is_in_the_security_activity(app: Flask, client: FlaskClient, user: User) -> None:
    forgot(client, "alice")
    forgot(client, "nobody-here")  # no account: nothing stored anywhere
    reset(client, last_link(app, "alice@example.com", "password_reset"))
    login(client, password=NEW_PASSWORD)
    page = client.get("/account").get_data(as_text=True)
    assert "Password reset link emailed" in page
    assert "Password reset from an emailed link" in page
