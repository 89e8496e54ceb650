"""Two-factor sign-in: turning it on and off, the second step, recovery codes, replays, the API."""

# length: one feature's tests (enrol, sign in with a code, recovery codes, disable), kept together.
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.activity import SecurityEvent
from auth_service.extensions import db, limiter
from auth_service.models import User
from auth_service.two_factor.secret_box import load_box
from servicekit.settings import ConfigError
from tests.support import (
    PASSWORD,
    RECOVERY_PATTERN,
    AppFactory,
    Clock,
    code,
    enable_two_factor,
    identity_cookie,
    login,
    make_app,
    post_form,
    start_setup,
)


def stored(app: Flask, username: str = "alice") -> User:
    with app.app_context():
        found = db.session.scalar(db.select(User).where(User.username == username))
        assert isinstance(found, User)
        db.session.expunge(found)
        return found


def kinds(app: Flask, user_id: int) -> list[str]:
    with app.app_context():
        query = db.select(SecurityEvent.kind).where(SecurityEvent.user_id == user_id)
        return list(db.session.scalars(query.order_by(SecurityEvent.id)))


def second_step(client: FlaskClient, value: str) -> object:
    return post_form(client, "/login/two-factor", code=value)


@pytest.fixture
def alice_with_2fa(
    app: Flask, client: FlaskClient, user: User, clock: Clock
) -> tuple[str, list[str]]:
    """alice, signed in on ``client``, with two-factor on; then signed out."""
    assert login(client).status_code == 302
    secret, recovery = enable_two_factor(client, clock)
    post_form(client, "/logout")
    # Signing in and confirming spent 2 of the account's password checks a minute (the
    # budget of ratelimits.py): each test starts with a whole one.
    with app.app_context():
        limiter.reset()
    return secret, recovery


# -- turning it on ------------------------------------------------------------------------------


def test_setup_shows_a_qr_code_as_inline_svg_and_the_secret(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client)
    secret = start_setup(client)
    response = client.get("/account/two-factor")
    page = response.get_data(as_text=True)

    assert "<svg" in page
    assert "<script" not in page
    assert " style=" not in page  # the CSP refuses inline styles
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert len(secret) == 32
    # Until a code is confirmed, two-factor is off and the secret is stored encrypted only.
    alice = stored(app)
    assert not alice.two_factor_enabled
    assert alice.totp_secret is not None
    assert secret not in alice.totp_secret


def test_confirming_needs_a_valid_code_and_the_password(
    app: Flask, client: FlaskClient, user: User, clock: Clock
) -> None:
    login(client)
    secret = start_setup(client)

    wrong_code = post_form(
        client, "/account/two-factor/confirm", code="000000", current_password=PASSWORD
    )
    wrong_password = post_form(
        client,
        "/account/two-factor/confirm",
        code=code(secret, clock),
        current_password="nope-nope",
    )

    assert "This code is not valid" in wrong_code.get_data(as_text=True)
    assert "not your current password" in wrong_password.get_data(as_text=True)
    assert not stored(app).two_factor_enabled


def test_turning_it_on_shows_ten_recovery_codes_once(
    app: Flask, client: FlaskClient, user: User, clock: Clock
) -> None:
    login(client)
    _, recovery = enable_two_factor(client, clock)

    assert len(set(recovery)) == 10
    assert stored(app).two_factor_enabled
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert recovery[0] not in page  # never shown again
    assert '<strong id="recovery-remaining">10</strong>' in page
    assert "two_factor_enabled" in kinds(app, user.id)
    with app.app_context():
        hashes = db.session.execute(db.text("SELECT code_hash FROM recovery_codes")).scalars()
        assert not set(hashes) & {c.replace("-", "") for c in recovery}


# -- signing in ---------------------------------------------------------------------------------


def test_sign_in_asks_for_a_code_after_the_password(
    app: Flask, client: FlaskClient, alice_with_2fa: tuple[str, list[str]], clock: Clock
) -> None:
    secret, _ = alice_with_2fa
    response = login(client, next="/account/tokens")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login/two-factor"
    # The password alone signs nobody in: no session, no identity cookie.
    assert client.get("/account").status_code == 302
    assert identity_cookie(client) is None

    done = second_step(client, code(secret, clock))
    assert done.status_code == 302
    assert done.headers["Location"] == "/account/tokens"
    assert identity_cookie(client)
    assert client.get("/account").status_code == 200


def test_a_wrong_code_is_refused_and_recorded(
    app: Flask, client: FlaskClient, user: User, alice_with_2fa: tuple[str, list[str]]
) -> None:
    login(client)
    response = second_step(client, "123456")
    assert response.status_code == 200
    assert "This code is not valid" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    assert "two_factor_failed" in kinds(app, user.id)


def test_a_code_cannot_be_used_twice(
    app: Flask, client: FlaskClient, alice_with_2fa: tuple[str, list[str]], clock: Clock
) -> None:
    secret, _ = alice_with_2fa
    used = code(secret, clock)
    login(client)
    assert second_step(client, used).status_code == 302
    post_form(client, "/logout")

    other = app.test_client()
    login(other)
    replayed = second_step(other, used)
    assert replayed.status_code == 200  # refused: the step was used already
    clock.step()
    assert second_step(other, code(secret, clock)).status_code == 302


def test_a_recovery_code_signs_in_once(
    app: Flask, client: FlaskClient, user: User, alice_with_2fa: tuple[str, list[str]]
) -> None:
    _, recovery = alice_with_2fa
    login(client)
    response = second_step(client, recovery[0].upper())  # any case, with the dashes
    assert response.status_code == 302
    assert "recovery_code_used" in kinds(app, user.id)
    post_form(client, "/logout")

    login(client)
    assert second_step(client, recovery[0]).status_code == 200
    assert second_step(client, recovery[1].replace("-", "")).status_code == 302


def test_the_second_step_expires(
    app: Flask, client: FlaskClient, alice_with_2fa: tuple[str, list[str]], clock: Clock
) -> None:
    secret, _ = alice_with_2fa
    login(client)
    clock.now += app.config["TWO_FACTOR_LOGIN_SECONDS"] + 1

    response = second_step(client, code(secret, clock))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302


def test_the_second_step_needs_the_password_first(client: FlaskClient, user: User) -> None:
    response = client.get("/login/two-factor")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_the_second_step_is_rate_limited_per_account(
    app: Flask, client: FlaskClient, alice_with_2fa: tuple[str, list[str]], clock: Clock
) -> None:
    secret, _ = alice_with_2fa
    login(client)
    statuses = [second_step(client, "000000").status_code for _ in range(5)]
    assert statuses == [200] * 5
    # Even the right code waits now: guessing a 6-digit code must stay slow.
    assert second_step(client, code(secret, clock)).status_code == 429


def test_a_password_change_voids_a_pending_sign_in(
    app: Flask, client: FlaskClient, alice_with_2fa: tuple[str, list[str]], clock: Clock
) -> None:
    secret, _ = alice_with_2fa
    login(client)
    with app.app_context():
        alice = db.session.scalar(db.select(User).where(User.username == "alice"))
        assert alice is not None
        alice.end_sessions()
        db.session.commit()
    assert second_step(client, code(secret, clock)).headers["Location"] == "/login"


# -- turning it off -----------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(
    app: Flask, client: FlaskClient, user: User, clock: Clock
) -> None:
    login(client)
    secret, _ = enable_two_factor(client, clock)

    no_code = post_form(
        client, "/account/two-factor/disable", code="000000", current_password=PASSWORD
    )
    no_password = post_form(
        client,
        "/account/two-factor/disable",
        code=code(secret, clock),
        current_password="wrong-one",
    )
    assert no_code.status_code == no_password.status_code == 200
    assert stored(app).two_factor_enabled

    done = post_form(
        client, "/account/two-factor/disable", code=code(secret, clock), current_password=PASSWORD
    )
    assert done.status_code == 302
    alice = stored(app)
    assert not alice.two_factor_enabled
    assert alice.totp_secret is None
    assert "two_factor_disabled" in kinds(app, user.id)
    post_form(client, "/logout")
    with app.app_context():
        limiter.reset()  # five password checks so far: the whole budget of a minute
    assert login(client).headers["Location"] == "/account"  # the password alone again


def test_two_factor_pages_need_a_csrf_token(client: FlaskClient, user: User) -> None:
    login(client)
    assert client.post("/account/two-factor/setup").status_code == 400


# -- the API -------------------------------------------------------------------------------------


def test_the_api_token_needs_the_code_too(
    client: FlaskClient, alice_with_2fa: tuple[str, list[str]], clock: Clock
) -> None:
    secret, _ = alice_with_2fa
    body = {"username": "alice", "password": PASSWORD}

    missing = client.post("/api/token", json=body)
    assert missing.status_code == 401
    assert missing.mimetype == "application/problem+json"
    assert "otp" in missing.get_json()["errors"]
    assert client.post("/api/token", json={**body, "otp": "000000"}).status_code == 401

    good = client.post("/api/token", json={**body, "otp": code(secret, clock)})
    assert good.status_code == 200
    assert good.get_json()["access_token"]
    replay = client.post("/api/token", json={**body, "otp": code(secret, clock)})
    assert replay.status_code == 401


# -- the key ------------------------------------------------------------------------------------


def test_production_needs_a_totp_key(tmp_path: Path) -> None:
    bare = Flask(__name__, instance_path=str(tmp_path))
    bare.config["APP_ENV"] = "production"
    with pytest.raises(ConfigError, match="AUTH_TOTP_KEY"):
        load_box(bare)
    bare.config["AUTH_TOTP_KEY_FILE"] = str(tmp_path / "missing")
    with pytest.raises(ConfigError, match="does not exist"):
        load_box(bare)
    assert not (tmp_path / "totp-key").exists()  # production never makes one up


def test_a_bad_totp_key_stops_the_app(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Fernet"):
        make_app(tmp_path, environ={"AUTH_TOTP_KEY": "not a key"})


def test_the_secret_is_encrypted_with_the_configured_key(
    app_factory: AppFactory, clock: Clock
) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    app = app_factory(environ={"AUTH_TOTP_KEY": key})
    from tests.support import make_user

    make_user(app, "alice")
    client = app.test_client()
    login(client)
    secret = start_setup(client)
    assert Fernet(key.encode()).decrypt(stored(app).totp_secret.encode()).decode() == secret  # type: ignore[union-attr]


def test_new_recovery_codes_replace_the_old_ones(
    app: Flask, client: FlaskClient, user: User, clock: Clock
) -> None:
    login(client)
    secret, old = enable_two_factor(client, clock)
    refused = post_form(
        client, "/account/two-factor/recovery-codes", code="000000", current_password=PASSWORD
    )
    assert "This code is not valid" in refused.get_data(as_text=True)

    response = post_form(
        client,
        "/account/two-factor/recovery-codes",
        code=code(secret, clock),
        current_password=PASSWORD,
    )
    assert response.headers["Cache-Control"] == "no-store"
    new = RECOVERY_PATTERN.findall(response.get_data(as_text=True))
    assert len(new) == 10
    assert not set(new) & set(old)
    assert "recovery_codes_renewed" in kinds(app, user.id)

    post_form(client, "/logout")
    login(client)
    assert second_step(client, old[0]).status_code == 200  # the old codes are gone
    assert second_step(client, new[0]).status_code == 302
