"""Login and token endpoints are rate-limited per account (one budget) and per client IP."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.accounts import views as accounts_views
from auth_service.models import User
from tests.support import PASSWORD, login, post_form


def test_the_sixth_wrong_password_in_a_minute_gets_429(client: FlaskClient, user: User) -> None:
    for _ in range(5):
        assert login(client, "alice", "wrong password").status_code == 200
    response = login(client, "alice", "wrong password")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    assert "Too many attempts" in response.get_data(as_text=True)
    # Even the right password waits: the account is paused, not guessed.
    assert login(client, "alice", PASSWORD).status_code == 429


def test_the_account_limit_ignores_case_and_other_addresses(app: Flask, user: User) -> None:
    for number in range(5):
        other = app.test_client()
        other.environ_base["REMOTE_ADDR"] = f"10.0.0.{number}"
        login(other, "ALICE" if number % 2 else "alice", "wrong password")
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert login(attacker, "Alice", "wrong password").status_code == 429


def test_one_budget_per_account_whatever_the_form_field_or_name(app: Flask, user: User) -> None:
    """Form and API, username and email, any case or Unicode form: one budget of 5."""
    form, api = app.test_client(), app.test_client()
    assert login(form, "alice", "wrong password").status_code == 200
    assert login(form, "ALICE@example.com", "wrong password").status_code == 200
    guess = {"password": "wrong password"}
    assert api.post("/api/token", json={"username": "Alice", **guess}).status_code == 401
    assert (
        api.post("/api/token", json={"username": "alice@EXAMPLE.com", **guess}).status_code == 401
    )
    # NFKC: full-width letters name the same account.
    assert login(form, "\uff41lice", "wrong password").status_code == 200
    assert api.post("/api/token", json={"username": "alice", **guess}).status_code == 429
    assert login(form, "alice@example.com", PASSWORD).status_code == 429


def test_successful_sign_ins_count_too(client: FlaskClient, user: User) -> None:
    """Counted before the password is checked, so whatever the outcome."""
    for _ in range(5):
        assert login(client).status_code == 302
        client.delete_cookie("auth_session")
    assert login(client).status_code == 429


def test_25_concurrent_wrong_guesses_get_at_most_5_password_checks(
    app: Flask, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    lock = threading.Lock()
    real_verify = accounts_views.verify_password

    def counting_verify(password_hash: str | None, password: str) -> tuple[bool, str | None]:
        with lock:
            checks.append(password)
        time.sleep(0.05)  # a real hash takes this long: every attempt is in flight at once
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts_views, "verify_password", counting_verify)
    start = threading.Barrier(25)

    def guess(number: int) -> int:
        client = app.test_client()
        start.wait()
        body = {"username": "alice", "password": f"guess {number}"}
        return client.post("/api/token", json=body).status_code

    with ThreadPoolExecutor(max_workers=25) as pool:
        statuses = Counter(pool.map(guess, range(25)))

    assert len(checks) <= 5
    assert statuses == {401: len(checks), 429: 25 - len(checks)}


def test_unknown_accounts_are_limited_the_same_way(client: FlaskClient) -> None:
    for _ in range(5):
        login(client, "nobody", "wrong password")
    assert login(client, "nobody", "wrong password").status_code == 429


def test_the_login_page_itself_is_not_limited(client: FlaskClient, user: User) -> None:
    for _ in range(6):
        login(client, "alice", "wrong password")
    assert client.get("/login").status_code == 200


def test_one_address_trying_many_accounts_is_limited(tmp_path: object, app: Flask) -> None:
    app.config["LOGIN_RATE_LIMIT_IP"] = "3 per minute"
    client = app.test_client()
    for name in ("a1", "a2", "a3"):
        assert login(client, name, "wrong password").status_code == 200
    assert login(client, "a4", "wrong password").status_code == 429


def test_token_endpoint_limit_answers_problem_json(client: FlaskClient, user: User) -> None:
    for _ in range(5):
        response = client.post("/api/token", json={"username": "alice", "password": "nope"})
        assert response.status_code == 401
    response = client.post("/api/token", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["status"] == 429


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_endpoints_are_not_limited(client: FlaskClient, path: str) -> None:
    for _ in range(40):
        assert client.get(path).status_code == 200


def test_registrations_are_limited_per_address(app: Flask, client: FlaskClient) -> None:
    from tests.support import post_form

    app.config["REGISTER_RATE_LIMIT_IP"] = "2 per hour"
    for _ in range(2):
        assert post_form(client, "/register", username="x").status_code == 200
    assert post_form(client, "/register", username="x").status_code == 429
    assert client.get("/register").status_code == 200


def test_personal_token_exchanges_spend_no_account_budget(client: FlaskClient) -> None:
    """They name no account and carry 256 random bits: the per-IP limit is their guard."""
    body = {"grant_type": "personal_access_token", "token": "not-a-real-token"}
    statuses = [client.post("/api/token", json=body).status_code for _ in range(7)]
    assert statuses == [401] * 7


#: Every form that asks the signed-in user for their current password.
CURRENT_PASSWORD_FORMS = [
    "/account/password",
    "/account/email",
    "/account/deactivate",
    "/account/two-factor/confirm",
    "/account/two-factor/recovery-codes",
    "/account/two-factor/disable",
]


@pytest.mark.parametrize("url", CURRENT_PASSWORD_FORMS)
def test_forms_asking_for_the_password_spend_the_login_budget(
    client: FlaskClient, user: User, url: str
) -> None:
    """A stolen session cannot guess the password there: the sign-in was 1 of 5."""
    assert login(client).status_code == 302
    for _ in range(4):
        response = post_form(client, url, current_password="wrong password", code="000000")
        assert response.status_code != 429
    response = post_form(client, url, current_password="wrong password", code="000000")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 200, "still signed in, only paused"


def test_the_password_forms_and_the_login_share_one_budget(app: Flask, user: User) -> None:
    session = app.test_client()
    assert login(session).status_code == 302
    for url in CURRENT_PASSWORD_FORMS[:4]:
        post_form(session, url, current_password="wrong password", code="000000")
    assert login(app.test_client(), "alice", PASSWORD).status_code == 429
