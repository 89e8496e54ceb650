"""Active sessions: each signed-in browser is listed, and can be signed out alone."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.devices.models import Device
from auth_service.extensions import db
from auth_service.models import RevokedToken, User
from auth_service.sessions import end_devices
from servicekit.verifier import TokenError, TokenVerifier
from tests.support import PASSWORD, identity_cookie, login, make_user, post_form

END_PATTERN = re.compile(r'action="/account/sessions/(\d+)/end"')


def device_ids(client: FlaskClient) -> list[int]:
    page = client.get("/account").get_data(as_text=True)
    return [int(found) for found in END_PATTERN.findall(page)]


def browser(app: Flask, agent: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    return client


def test_each_browser_is_listed_with_its_user_agent(app: Flask, user: User) -> None:
    laptop, phone = browser(app, "Laptop/1"), browser(app, "Phone/2")
    login(laptop)
    login(phone)
    page = laptop.get("/account").get_data(as_text=True)
    assert "Laptop/1 <strong>(this device)</strong>" in page
    assert "Phone/2" in page
    assert len(device_ids(laptop)) == 2


def test_ending_one_device_signs_out_that_one_only(
    app: Flask, user: User, verifier: TokenVerifier
) -> None:
    laptop, phone = browser(app, "Laptop/1"), browser(app, "Phone/2")
    login(laptop)
    login(phone, remember="y")
    phone_token = identity_cookie(phone)
    assert phone_token is not None
    with app.app_context():
        phone_id = db.session.scalar(db.select(Device.id).where(Device.user_agent == "Phone/2"))

    response = post_form(laptop, f"/account/sessions/{phone_id}/end")
    assert response.status_code == 302

    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302  # session and remember-me both dead
    with pytest.raises(TokenError, match="revoked"):
        verifier.verify(phone_token)  # and the blog's cookie with them
    assert device_ids(laptop) != []
    assert phone_id not in device_ids(laptop)


def test_ending_this_device_logs_out_here(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    [mine] = device_ids(client)
    response = post_form(client, f"/account/sessions/{mine}/end")
    assert response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302


def test_end_every_other_session(app: Flask, user: User) -> None:
    here, there, elsewhere = (browser(app, f"B/{n}") for n in range(3))
    for client in (here, there, elsewhere):
        login(client)
    response = post_form(here, "/account/sessions/end-others")
    assert response.status_code == 302
    assert here.get("/account").status_code == 200
    assert there.get("/account").status_code == 302
    assert elsewhere.get("/account").status_code == 302
    assert len(device_ids(here)) == 1


def test_nobody_ends_someone_elses_session(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    [alices] = device_ids(client)
    make_user(app, "mallory")
    mallory = app.test_client()
    login(mallory, "mallory")
    assert post_form(mallory, f"/account/sessions/{alices}/end").status_code == 404
    assert client.get("/account").status_code == 200


def test_ending_needs_csrf(app: Flask, client: FlaskClient, user: User) -> None:
    login(client)
    [mine] = device_ids(client)
    assert client.post(f"/account/sessions/{mine}/end").status_code == 400
    assert client.get("/account").status_code == 200


def test_a_password_change_ends_every_device_row(app: Flask, user: User) -> None:
    here, there = browser(app, "Here/1"), browser(app, "There/1")
    login(here)
    login(there)
    post_form(
        here,
        "/account/password",
        current_password=PASSWORD,
        password="a fresh long passphrase",
        confirm="a fresh long passphrase",
    )
    assert there.get("/account").status_code == 302
    assert len(device_ids(here)) == 1  # only the session the change started


def test_a_remember_me_cookie_restores_the_same_device(
    app: Flask, client: FlaskClient, user: User
) -> None:
    login(client, remember="y")
    [device] = device_ids(client)
    client.delete_cookie("auth_session")  # the browser was closed
    assert client.get("/account").status_code == 200
    assert device_ids(client) == [device]
    assert client.get("/account").status_code == 200  # and stays signed in after that


def test_a_device_ended_by_another_request_meanwhile_is_ended_once(app: Flask, user: User) -> None:
    """Two requests ending one device at once (a double click): the second changes nothing."""
    laptop, phone = browser(app, "Laptop/1"), browser(app, "Phone/2")
    login(laptop)
    login(phone, remember="y")
    with app.app_context():
        alice = db.session.get(User, user.id)
        stale = db.session.scalar(db.select(Device).where(Device.user_agent == "Phone/2"))
        assert stale is not None
        assert stale.ended_at is None  # what the second request read
        assert post_form(laptop, f"/account/sessions/{stale.id}/end").status_code == 302
        first_end = db.session.scalar(db.select(Device.ended_at).where(Device.id == stale.id))

        end_devices(alice, [stale])  # the second request goes on, with what it read

        again = db.session.scalar(db.select(Device.ended_at).where(Device.id == stale.id))
        assert again == first_end, "ended once, by the first request"
        assert len(db.session.scalars(db.select(RevokedToken.jti)).all()) == 1
