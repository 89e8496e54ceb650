"""Revocation survives a Redis that stalls or restarts empty: the database is the truth.

Each test runs its own redis-server (servicekit.testing.PrivateRedis) and freezes it (SIGSTOP)
or restarts it empty, with auth and a stand-in for blog and api (test_single_sign_on) using it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from auth_service.extensions import db
from auth_service.models import User
from auth_service.revocations import marks_to_publish, republisher_of
from servicekit.testing import PrivateRedis, redis_server_binary
from tests.conftest import AppFactory, identity_cookie, login
from tests.factories import make_user
from tests.test_api import get_token
from tests.test_single_sign_on import (
    _change_password,
    _deactivate,
    _logout,
    _role_change,
    api_status,
    blog_sees,
    make_relying_app,
)

pytestmark = pytest.mark.skipif(redis_server_binary() is None, reason="needs redis-server")

#: A stalled Redis costs a request at most its timeout (REDIS_TIMEOUT_MS, 250 ms) a few times;
#: this bound only says "answered, not hung" on a busy machine.
ANSWERED_WITHIN = 3.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with PrivateRedis.started(tmp_path) as server:
        yield server


@pytest.fixture
def app(app_factory: AppFactory, redis_server: PrivateRedis) -> Iterator[Flask]:
    """auth with its revocations in the private Redis, checked every second."""
    application = app_factory({"REVOCATION_STORE_URI": redis_server.url})
    yield application
    republisher = republisher_of(application)
    assert republisher is not None
    republisher.stop()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def stored_mark(app: Flask) -> float | None:
    with app.app_context():
        return db.session.scalar(select(User.tokens_valid_after).where(User.username == "alice"))


@pytest.mark.parametrize(
    "end_sessions",
    [_logout, _change_password, _deactivate, _role_change],
    ids=["logout", "password-change", "deactivation", "role-change"],
)
def test_tokens_ended_while_redis_is_frozen_stay_refused(
    app: Flask,
    client: FlaskClient,
    user: User,
    redis_server: PrivateRedis,
    end_sessions: Callable[[FlaskClient, Flask], None],
) -> None:
    login(client)
    cookie = identity_cookie(client)
    token = get_token(app.test_client())
    relying = make_relying_app(app, client)
    wait_until(lambda: api_status(relying, token) == 200)  # the first epoch is published

    with redis_server.frozen():
        started = time.monotonic()
        end_sessions(client, app)  # each helper's request must not raise (no 500)
        assert time.monotonic() - started < ANSWERED_WITHIN
        assert stored_mark(app) is not None, "the database holds the revocation"
        # Meanwhile: the API cannot check the token and says so (503, retry), never 200.
        assert api_status(relying, token) == 503
        # A page may still be read as the user (identity unchecked), never written (below).
        assert blog_sees(relying, cookie) in {"alice", None}

    # Afterwards, whenever the request comes, the earlier tokens are refused ...
    assert api_status(relying, token) in {401, 503}
    # ... and once auth has republished the marks, as revoked (401), not merely unknown.
    wait_until(lambda: api_status(relying, token) == 401)
    assert blog_sees(relying, cookie) is None


def test_logout_answers_without_500_when_redis_is_frozen(
    client: FlaskClient, user: User, redis_server: PrivateRedis
) -> None:
    login(client)
    with redis_server.frozen():
        started = time.monotonic()
        response = client.post("/logout", data={"csrf_token": _csrf(client)})
        elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < ANSWERED_WITHIN
    assert identity_cookie(client) is None


def _csrf(client: FlaskClient) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client)


def test_redis_restarted_empty_does_not_resurrect_revoked_tokens(
    app: Flask, client: FlaskClient, user: User, redis_server: PrivateRedis
) -> None:
    login(client)
    token = get_token(app.test_client())
    relying = make_relying_app(app, client)
    _logout(client, app)
    wait_until(lambda: api_status(relying, token) == 401)

    redis_server.restart_empty()  # no mark, no epoch: nothing on disk

    # Never accepted: unknown (503) until auth copies the marks back, then revoked (401).
    assert api_status(relying, token) in {401, 503}
    wait_until(lambda: api_status(relying, token) == 401)


def test_unrelated_users_keep_working_after_a_restart(
    app: Flask, client: FlaskClient, user: User, redis_server: PrivateRedis
) -> None:
    make_user(app, "bob")
    token = get_token(app.test_client(), "bob")
    login(client)
    relying = make_relying_app(app, client)
    wait_until(lambda: api_status(relying, token) == 200)
    redis_server.restart_empty()
    wait_until(lambda: api_status(relying, token) == 200)


def test_only_marks_that_can_still_refuse_a_token_are_republished(app: Flask) -> None:
    for name in ("old", "recent"):
        make_user(app, name)
    now = time.time()
    lifetime = app.config["AUTH_TOKEN_LIFETIME"]
    with app.app_context():
        for name, moment in (("old", now - lifetime - 3600), ("recent", now - 10)):
            found = db.session.scalar(select(User).where(User.username == name))
            found.tokens_valid_after = moment
        db.session.commit()
        marks = marks_to_publish(now)
    assert list(marks.values()) == [pytest.approx(now - 10)]
