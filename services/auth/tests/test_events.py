"""Auth events are logged with user, client IP and request id; never a password or token."""

from __future__ import annotations

import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.models import User
from tests.support import PASSWORD, get_token, identity_cookie, login, post_form


def events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "auth_service.events"]


def test_auth_events_carry_user_ip_and_request_id(
    client: FlaskClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    login(client, "alice", "wrong password")
    login(client)
    post_form(client, "/logout")
    names = [record.__dict__["event"] for record in events(caplog)]
    assert names == ["login_failed", "login", "token_issued", "sessions_ended", "logout"]
    for record in events(caplog):
        assert record.__dict__["user_id"] == user.id
        assert record.__dict__["username"] == "alice"
        assert record.__dict__["client_ip"] == "127.0.0.1"
        assert len(record.__dict__["request_id"]) == 32
    failed = events(caplog)[0]
    assert failed.levelno == logging.WARNING


def test_lockout_and_token_issue_are_logged(
    client: FlaskClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    get_token(client)
    for _ in range(6):
        client.post("/api/token", json={"username": "alice", "password": "wrong"})
    names = [record.__dict__["event"] for record in events(caplog)]
    assert names[0] == "token_issued"
    assert names[-1] == "rate_limited"
    assert events(caplog)[-1].__dict__["scope"] == "account"


def test_no_password_or_token_is_ever_logged(
    app: Flask, client: FlaskClient, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    new_password = "another long secret phrase"
    login(client, "alice", "a wrong secret phrase")
    login(client)
    cookie = identity_cookie(client)
    token = get_token(app.test_client())
    post_form(
        client,
        "/account/password",
        current_password=PASSWORD,
        password=new_password,
        confirm=new_password,
    )
    post_form(client, "/logout")
    assert cookie
    everything = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    for secret in (PASSWORD, new_password, "a wrong secret phrase", cookie, token):
        assert secret not in everything
    assert "$argon2id$" not in everything


def _counted(client: FlaskClient, event: str) -> float:
    body = client.get("/metrics").get_data(as_text=True)
    match = re.search(rf'^auth_events_total{{event="{event}"}} (\S+)$', body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_auth_events_are_counted_at_metrics(app: Flask, client: FlaskClient, user: User) -> None:
    watched = ("login_failed", "login", "token_issued")
    before = {event: _counted(app.test_client(), event) for event in watched}
    login(client, "alice", "wrong password")
    login(client)
    get_token(app.test_client())
    after = {event: _counted(app.test_client(), event) for event in watched}
    assert {event: after[event] - before[event] for event in watched} == {
        "login_failed": 1,
        "login": 1,
        "token_issued": 2,  # the browser login's identity cookie, then the API token
    }
