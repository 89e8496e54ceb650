"""Registration, login, logout and the account page, through the test client."""

# length: one feature's tests (register, sign in, sign out, the identity cookie), kept together.
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.extensions import db
from auth_service.models import User
from tests.support import (
    PASSWORD,
    AppFactory,
    csrf_token,
    identity_cookie,
    login,
    make_user,
    outbox,
    post_form,
    register,
    stored_user,
)

# -- registration ---------------------------------------------------------------------------


def test_register_creates_a_reader_and_logs_in(app: Flask, client: FlaskClient) -> None:
    response = register(client, email="Bob@Example.COM")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    created = stored_user(app, "bob")
    assert created.email == "bob@example.com"
    assert created.roles == ["reader"]
    assert created.password_hash.startswith("$argon2id$")
    assert "bob@example.com" in client.get("/account").get_data(as_text=True)
    assert identity_cookie(client)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short1", "confirm": "short1"}, "at least 8 characters"),
        ({"password": "password123", "confirm": "password123"}, "too common"),
        ({"password": "Qwerty123", "confirm": "Qwerty123"}, "too common"),
        ({"confirm": "something else entirely"}, "do not match"),
        ({"email": "not-an-email"}, "Invalid email"),
        ({"username": "x"}, "3 to 32 letters"),
        ({"username": "bad name!"}, "3 to 32 letters"),
        ({"password": "bob@example.com", "confirm": "bob@example.com"}, "must not be your"),
        ({"password": "a" * 129, "confirm": "a" * 129}, "at most 128"),
    ],
)
def test_register_refuses_bad_input_with_a_message(
    app: Flask, client: FlaskClient, fields: dict[str, str], message: str
) -> None:
    response = register(client, **fields)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_long_passphrases_and_no_composition_rules(app: Flask, client: FlaskClient) -> None:
    passphrase = "all lowercase words make a long passphrase " * 2  # 88 characters
    response = register(client, password=passphrase, confirm=passphrase)
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert login(client, "bob", passphrase).status_code == 302


def test_register_refuses_taken_username_and_email(
    app: Flask, client: FlaskClient, user: User
) -> None:
    assert "username is taken" in register(client, username="ALICE").get_data(as_text=True)
    page = register(client, email="ALICE@example.com").get_data(as_text=True)
    assert "already uses this email" in page


def test_a_form_post_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post(
        "/register",
        data={"username": "bob", "email": "bob@example.com", "password": "x" * 12},
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 0


def test_login_without_csrf_token_is_refused(client: FlaskClient, user: User) -> None:
    response = client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert identity_cookie(client) is None


# -- login --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_login_by_username_or_email(client: FlaskClient, user: User, name: str) -> None:
    response = login(client, name)
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


def test_login_sets_the_identity_cookie_for_the_whole_origin(
    client: FlaskClient, user: User
) -> None:
    response = login(client)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("identity="))
    assert "Path=/;" in header or header.endswith("Path=/")
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # testing runs on http; production sets Secure


def test_identity_cookie_is_secure_when_session_cookies_are(app_factory: AppFactory) -> None:
    # Secure cookies make https the preferred scheme, which the test client would then use;
    # this test's client stays on http, where only the flag differs.
    app = app_factory({"SESSION_COOKIE_SECURE": True, "PREFERRED_URL_SCHEME": "http"})
    make_user(app, "alice")
    client = app.test_client()
    response = login(client)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("identity="))
    assert "Secure" in header


@pytest.mark.parametrize(
    ("login_name", "password"),
    [("alice", "wrong password!"), ("nobody", PASSWORD), ("nobody@example.com", "whatever123")],
)
def test_every_login_failure_says_the_same_thing(
    client: FlaskClient, user: User, login_name: str, password: str
) -> None:
    response = login(client, login_name, password)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Invalid username or password." in page
    assert "nobody" in page or login_name == "alice"  # the form keeps what was typed
    assert identity_cookie(client) is None
    assert client.get("/account").status_code == 302


def test_a_deactivated_user_cannot_log_in(app: Flask, client: FlaskClient) -> None:
    make_user(app, "carol", active=False)
    response = login(client, "carol")
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert identity_cookie(client) is None


def test_unknown_user_costs_a_password_check(
    client: FlaskClient, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No shortcut for unknown users: one argon2 verification, as for a wrong password."""
    from argon2 import PasswordHasher

    calls: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    login(client, "nobody", "some password")
    login(client, "alice", "some password")
    assert len(calls) == 2
    assert all(hash.startswith("$argon2id$") for hash in calls)


def test_login_starts_a_new_session(client: FlaskClient, user: User) -> None:
    """Nothing from the anonymous session survives login (no session fixation)."""
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != str(user.id)  # the session token, not the primary key


def test_remember_me_sets_a_hardened_cookie(client: FlaskClient, user: User) -> None:
    response = login(client, remember="y")
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("auth_remember=")
    )
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header


def test_remember_me_logs_in_without_a_session(client: FlaskClient, user: User) -> None:
    login(client, remember="y")
    client.delete_cookie("auth_session")
    assert client.get("/account").status_code == 200


# -- next ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/posts/new?draft=1", "/posts/new?draft=1"),
        ("/auth/account", "/auth/account"),
        ("https://evil.example/", "/account"),
        ("//evil.example", "/account"),
        ("//evil.example/path", "/account"),
        ("/\\evil.example", "/account"),
        ("\\\\evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("/\tevil", "/account"),
        ("http:/evil.example", "/account"),
        ("", "/account"),
    ],
)
def test_next_only_goes_to_same_origin_paths(
    client: FlaskClient, user: User, next_url: str, expected: str
) -> None:
    response = login(client, next=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_page_carries_next_into_the_form(client: FlaskClient) -> None:
    page = client.get("/login?next=/posts/7").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/posts/7"' in page


def test_the_register_link_keeps_next_and_registering_goes_there(
    app: Flask, client: FlaskClient
) -> None:
    login_page = client.get("/login?next=/posts/new").get_data(as_text=True)
    assert 'href="/register?next=/posts/new"' in login_page
    register_page = client.get("/register?next=%2Fposts%2Fnew").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/posts/new"' in register_page
    assert 'href="/login?next=/posts/new"' in register_page, "and back to the login"
    response = register(client, next="/posts/new")
    assert response.status_code == 302
    assert response.headers["Location"] == "/posts/new"
    assert identity_cookie(client)
    # signed in already: the link just goes on
    assert client.get("/register?next=/posts/1").headers["Location"] == "/posts/1"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_registering_never_goes_off_the_origin(client: FlaskClient, next_url: str) -> None:
    response = register(client, next=next_url)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert client.get(f"/register?next={next_url}").headers["Location"] == "/account"


def test_without_next_the_links_carry_none(client: FlaskClient) -> None:
    assert 'href="/register"' in client.get("/login").get_data(as_text=True)
    assert 'href="/login"' in client.get("/register").get_data(as_text=True)


def test_a_valid_session_gets_a_fresh_identity_cookie_at_once(
    client: FlaskClient, user: User
) -> None:
    """Single sign-on: blog sends the browser to /auth/login?next=... and gets it straight back."""
    login(client)
    first = identity_cookie(client)
    client.delete_cookie("identity")  # expired in the browser
    response = client.get("/login?next=/posts/1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/posts/1"
    assert identity_cookie(client) not in (None, first)
    evil = client.get("/login?next=https://evil.example/")
    assert evil.headers["Location"] == "/account"


def test_login_page_for_anonymous_users_shows_the_form(client: FlaskClient) -> None:
    response = client.get("/login?next=/posts/1")
    assert response.status_code == 200
    assert identity_cookie(client) is None


def test_home_sends_to_the_account_page_or_login(client: FlaskClient, user: User) -> None:
    assert client.get("/").headers["Location"] == "/account"
    assert client.get("/account").headers["Location"].startswith("/login?next=")
    login(client)
    assert client.get("/", follow_redirects=True).status_code == 200


# -- logout -------------------------------------------------------------------------------------


def test_logout_page_asks_and_changes_nothing(client: FlaskClient, user: User) -> None:
    login(client)
    page = client.get("/logout")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'method="post"' in html
    assert 'name="csrf_token"' in html
    assert client.get("/account").status_code == 200
    assert identity_cookie(client) is not None


def test_logout_page_for_anonymous_users(client: FlaskClient) -> None:
    page = client.get("/logout")
    assert page.status_code == 200
    assert "You are not signed in." in page.get_data(as_text=True)


def test_logout_without_csrf_token_is_refused(client: FlaskClient, user: User) -> None:
    login(client)
    assert client.post("/logout").status_code == 400
    assert client.get("/account").status_code == 200


def test_logout_clears_the_cookies(client: FlaskClient, user: User) -> None:
    login(client)
    response = post_form(client, "/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert identity_cookie(client) is None
    assert client.get("/account").status_code == 302


def test_a_session_cookie_captured_before_logout_is_refused_after(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client, remember="y")
    stolen_session = client.get_cookie("auth_session")
    stolen_remember = client.get_cookie("auth_remember")
    assert stolen_session
    assert stolen_remember
    post_form(client, "/logout")

    attacker = app.test_client()
    attacker.set_cookie("auth_session", stolen_session.value)
    assert attacker.get("/account").status_code == 302
    replay = app.test_client()
    replay.set_cookie("auth_remember", stolen_remember.value)
    assert replay.get("/account").status_code == 302


def test_logout_ends_the_sessions_on_every_device(app: Flask, user: User) -> None:
    laptop, phone = app.test_client(), app.test_client()
    login(laptop)
    login(phone)
    post_form(phone, "/logout")
    assert laptop.get("/account").status_code == 302


def test_logout_of_an_anonymous_browser_just_clears_the_cookie(client: FlaskClient) -> None:
    response = post_form(client, "/logout")
    assert response.status_code == 302


# -- account page -------------------------------------------------------------------------------


def test_account_needs_login(client: FlaskClient) -> None:
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Faccount"


def test_change_password_needs_the_current_one(client: FlaskClient, user: User) -> None:
    login(client)
    response = post_form(
        client,
        "/account/password",
        current_password="not my password",
        password="new and long password",
        confirm="new and long password",
    )
    assert "not your current password" in response.get_data(as_text=True)
    post_form(client, "/logout")
    assert login(client).status_code == 302  # the old password still works


def test_change_password_refuses_a_common_password(client: FlaskClient, user: User) -> None:
    login(client)
    response = post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password="iloveyou1",
        confirm="iloveyou1",
    )
    assert "too common" in response.get_data(as_text=True)


def test_change_password_ends_other_sessions(app: Flask, client: FlaskClient, user: User) -> None:
    other = app.test_client()
    login(other)
    login(client)
    captured = client.get_cookie("auth_session")
    assert captured
    response = post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password="new and long password",
        confirm="new and long password",
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser stays signed in
    assert other.get("/account").status_code == 302
    replay = app.test_client()
    replay.set_cookie("auth_session", captured.value)
    assert replay.get("/account").status_code == 302
    post_form(client, "/logout")
    assert "Invalid" in login(client).get_data(as_text=True)
    assert login(client, password="new and long password").status_code == 302


def test_change_email(app: Flask, client: FlaskClient, user: User) -> None:
    make_user(app, "dave")
    login(client)
    taken = post_form(client, "/account/email", email="dave@example.com", current_password=PASSWORD)
    assert "already uses this email" in taken.get_data(as_text=True)
    wrong = post_form(client, "/account/email", email="new@example.com", current_password="nope")
    assert "not your current password" in wrong.get_data(as_text=True)
    same = post_form(client, "/account/email", email="alice@example.com", current_password=PASSWORD)
    assert "your address already" in same.get_data(as_text=True)
    done = post_form(client, "/account/email", email="New@Example.com", current_password=PASSWORD)
    assert done.status_code == 302
    # Nothing changes until the link sent to the new address is followed (test_verification).
    assert stored_user(app, "alice").email == "alice@example.com"
    assert "We sent a link to new@example.com" in client.get("/account").get_data(as_text=True)


def test_deactivate_own_account(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    wrong = post_form(client, "/account/deactivate", current_password="nope")
    assert "not your current password" in wrong.get_data(as_text=True)
    assert stored_user(app, "alice").active
    captured = client.get_cookie("auth_session")
    assert captured
    response = post_form(client, "/account/deactivate", current_password=PASSWORD)
    assert response.status_code == 302
    assert identity_cookie(client) is None
    assert not stored_user(app, "alice").active
    replay = app.test_client()
    replay.set_cookie("auth_session", captured.value)
    assert replay.get("/account").status_code == 302
    assert "Invalid username or password." in login(client).get_data(as_text=True)


def test_a_name_taken_during_registration_gives_a_message_not_a_500(
    app: Flask, client: FlaskClient, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two registrations racing: the check found the name free, the database says otherwise.
    monkeypatch.setattr("auth_service.accounts.views.find_user", lambda _name: None)
    response = register(client, username="alice")
    assert response.status_code == 200
    assert "was just taken" in response.get_data(as_text=True)


def test_a_session_used_from_another_browser_is_dropped(client: FlaskClient, user: User) -> None:
    """session_protection "strong": a session cookie replayed with another User-Agent is void."""
    login(client)
    assert client.get("/account", headers={"User-Agent": "stolen-elsewhere"}).status_code == 302


def test_the_access_log_names_the_user(
    client: FlaskClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    login(client)
    caplog.clear()
    client.get("/account")
    (line,) = [record for record in caplog.records if record.name == "servicekit.access"]
    assert line.__dict__["user_id"] == str(user.id)


def test_a_password_change_is_told_by_email(app: Flask, client: FlaskClient, user: User) -> None:

    login(client)
    new = "a changed and long password"
    post_form(client, "/account/password", current_password=PASSWORD, password=new, confirm=new)
    [notice] = outbox(app)
    assert (notice.kind, notice.recipient) == ("password_changed", "alice@example.com")
    assert "/password/forgot" in notice.text_body  # "if this was not you"
