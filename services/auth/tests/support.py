"""Helpers the auth suite's tests import: the app, users, forms with CSRF, mail, tokens, 2FA.

conftest.py holds only fixtures; a test module imports helpers from here, never from
conftest or from another test module.
"""

# length: every helper of the suite, one module by design: conftest.py holds fixtures only.
from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
from flask import Flask, jsonify
from flask.testing import FlaskClient
from flask_login import LoginManager, current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from auth_service import create_app
from auth_service.extensions import db
from auth_service.mail.models import OutboxMessage
from auth_service.models import User, new_session_token
from auth_service.passwords import hash_password
from servicekit.bearer import bearer_identity
from servicekit.clock import utcnow
from servicekit.identity import init_identity
from servicekit.identitycookie import install_cookie_login
from servicekit.testing import csrf_token_in

PASSWORD = "correct horse battery staple"


def make_user(
    app: Flask,
    username: str,
    *,
    password: str = PASSWORD,
    email: str | None = None,
    roles: Iterable[str] = ("reader",),
    active: bool = True,
    verified: bool = True,
) -> User:
    """Create and commit a user (email verified unless ``verified=False``); returns it
    detached-safe (attributes loaded)."""
    with app.app_context():
        user = User(
            username=username,
            email=email or f"{username}@example.com",
            password_hash=hash_password(password),
            session_token=new_session_token(),
            active=active,
            email_verified_at=utcnow() if verified else None,
        )
        user.roles = list(roles)
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user


LINK = re.compile(r"https?://[^\s/]+(/\S*)")


def outbox(app: Flask, recipient: str | None = None) -> list[OutboxMessage]:
    """Every queued message (for ``recipient``), oldest first, detached."""
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if recipient is not None:
            query = query.where(OutboxMessage.recipient == recipient)
        messages = list(db.session.scalars(query))
        for message in messages:
            db.session.expunge(message)
        return messages


def last_link(app: Flask, recipient: str, kind: str) -> str:
    """The path of the first link in the newest ``kind`` message to ``recipient``."""
    found = [m for m in outbox(app, recipient) if m.kind == kind]
    assert found, f"no {kind} message to {recipient}"
    match = LINK.search(found[-1].text_body)
    assert match, "the message has no link"
    return match.group(1)


SECRET_PATTERN = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


RECOVERY_PATTERN = re.compile(r"<li><code>([a-z0-9-]{19})</code></li>")


@dataclass
class Clock:
    """Stands in for the ``time`` module of the two-factor code: ``now`` moves when told."""

    now: float = field(default_factory=lambda: float(int(time.time() // 30) * 30 + 10))

    def time(self) -> float:
        return self.now

    def step(self, steps: int = 1) -> None:
        """Move on by ``steps`` TOTP periods of 30 seconds."""
        self.now += 30 * steps


def code(secret: str, clock: Clock, offset: int = 0) -> str:
    """The code the authenticator app shows at the clock's time (+ ``offset`` steps)."""
    return pyotp.TOTP(secret).at(clock.now + 30 * offset)


def start_setup(client: FlaskClient) -> str:
    """Ask for a new secret; returns it as the page shows it."""
    response = post_form(client, "/account/two-factor/setup")
    assert response.status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    match = SECRET_PATTERN.search(page)
    assert match, "the setup page shows the secret as text"
    return match.group(1)


def enable_two_factor(client: FlaskClient, clock: Clock) -> tuple[str, list[str]]:
    """Turn two-factor on for the signed-in user; returns the secret and the recovery codes.

    The confirmation uses the code of the previous step, so the current one is still unused.
    """
    secret = start_setup(client)
    response = post_form(
        client,
        "/account/two-factor/confirm",
        code=code(secret, clock, -1),
        current_password=PASSWORD,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    recovery = RECOVERY_PATTERN.findall(response.get_data(as_text=True))
    assert len(recovery) == 10
    return secret, recovery


#: argon2 parameters that cost microseconds; the app accepts them only with APP_ENV=testing.
CHEAP_HASHING = {"ARGON2_MEMORY_COST": 64, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}


def make_app(
    tmp_path: Path,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Flask:
    """An auth app in testing mode with its instance folder under ``tmp_path``."""
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'auth.sqlite3'}"
    env = {
        "APP_ENV": "testing",
        "AUTH_INSTANCE_PATH": str(tmp_path / "instance"),
        "AUTH_DATABASE_URL": database_url,
        **(environ or {}),
    }
    # Each app gets its own in-process revocation store and rate-limit counters.
    config = {**CHEAP_HASHING, "REVOCATION_STORE_URI": f"memory://{uuid.uuid4().hex}"}
    return create_app({**config, **(overrides or {})}, environ=env)


AppFactory = Callable[..., Flask]


def csrf_token(client: FlaskClient) -> str:
    """A CSRF token for this client's session, read from a page that renders one."""
    page = client.get("/register", follow_redirects=True).get_data(as_text=True)
    token = csrf_token_in(page)
    assert token, "no CSRF token on the page"
    return token


def login(client: FlaskClient, login: str = "alice", password: str = PASSWORD, **extra: Any) -> Any:
    """Post the login form with a valid CSRF token; returns the response (not followed)."""
    data = {"username": login, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data)


def post_form(client: FlaskClient, url: str, **data: Any) -> Any:
    """Post a form with a valid CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


IdentityCookie = Callable[[FlaskClient], str | None]


def identity_cookie(client: FlaskClient) -> str | None:
    """The identity token the browser holds, if any."""
    cookie = client.get_cookie("identity")
    return cookie.value if cookie else None


def get_token(client: FlaskClient, username: str = "alice", password: str = PASSWORD) -> str:
    response = client.post("/api/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["access_token"]
    return token


TOKEN_PATTERN = re.compile(r'<code id="new-token">([^<]+)</code>')


def create_token(
    client: FlaskClient,
    name: str = "backup script",
    scopes: tuple[str, ...] = ("tasks:read",),
    days: int = 30,
) -> str:
    response = post_form(client, "/account/tokens", name=name, scopes=list(scopes), days=days)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    match = TOKEN_PATTERN.search(response.get_data(as_text=True))
    assert match, "the new token is shown"
    return match.group(1)


def exchange(client: FlaskClient, token: str) -> object:
    return client.post("/api/token", json={"grant_type": "personal_access_token", "token": token})


def register(client: FlaskClient, **fields: str) -> Any:
    data = {
        "username": "bob",
        "email": "bob@example.com",
        "password": "purple monkey dishwasher",
        "confirm": "purple monkey dishwasher",
        **fields,
    }
    return post_form(client, "/register", **data)


def stored_user(app: Flask, username: str) -> User:
    with app.app_context():
        found = db.session.scalar(db.select(User).where(User.username == username))
        assert isinstance(found, User)
        db.session.expunge(found)
        return found


def make_relying_app(auth: Flask, auth_client: FlaskClient) -> Flask:
    """A stand-in for blog and api: verifies with auth's public keys only."""
    relying = Flask("relying")
    relying.config.update(
        SECRET_KEY="relying-app-test-secret",
        AUTH_JWKS=auth_client.get("/.well-known/jwks.json").get_json(),
        AUTH_ISSUER=auth.config["AUTH_ISSUER"],
        AUTH_AUDIENCE=auth.config["AUTH_AUDIENCE"],
        REVOCATION_STORE_URI=auth.config["REVOCATION_STORE_URI"],
        IDENTITY_COOKIE_NAME="identity",
    )
    init_identity(relying)
    install_cookie_login(relying, LoginManager())

    @relying.get("/whoami")
    def whoami() -> Response:  # like a blog page
        if not current_user.is_authenticated:
            return jsonify(user=None)
        return jsonify(user=current_user.name, roles=sorted(current_user.roles))

    @relying.get("/api/me")
    def me() -> Response:  # like an api resource: bearer only
        identity = bearer_identity()
        return jsonify(user=identity.name)

    return relying


def blog_sees(relying: Flask, cookie: str | None) -> str | None:
    client = relying.test_client()
    if cookie:
        client.set_cookie("identity", cookie)
    user: str | None = client.get("/whoami").get_json()["user"]
    return user


def api_status(relying: Flask, token: str) -> int:
    response = relying.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code


def _logout(client: FlaskClient, app: Flask) -> None:
    post_form(client, "/logout")


def _change_password(client: FlaskClient, app: Flask) -> None:
    new = "a brand new long password"
    post_form(client, "/account/password", current_password=PASSWORD, password=new, confirm=new)


def _deactivate(client: FlaskClient, app: Flask) -> None:
    post_form(client, "/account/deactivate", current_password=PASSWORD)


def _role_change(client: FlaskClient, app: Flask) -> None:
    admin = app.test_client()
    make_user(app, "root", roles=("admin",))
    login(admin, "root")
    version = admin.get("/admin/users/1").get_data(as_text=True).split('name="version"')[1]
    version_value = version.split('value="')[1].split('"')[0]
    post_form(admin, "/admin/users/1/roles", roles="author", version=version_value)
