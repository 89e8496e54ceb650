"""What the cross-service tests drive: the system of apps, browsers on it, API calls."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.test import Client, TestResponse

from servicekit.testing import csrf_token_in

#: argon2 parameters that cost microseconds; auth accepts them only with APP_ENV=testing.
CHEAP_HASHING = {"ARGON2_MEMORY_COST": 64, "ARGON2_TIME_COST": 1, "ARGON2_PARALLELISM": 1}
PASSWORD = "correct horse battery staple"
SIGNED_IN = re.compile(r"Signed in as <strong[^>]*>([^<]+)</strong>")


class Browser:
    """A test client on the whole origin: cookies kept for every prefix, redirects by hand."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.post(path, **kwargs)

    def csrf_token(self, page: str) -> str:
        """The CSRF token of the form on ``page`` (a GET, following redirects)."""
        html = self.get(page, follow_redirects=True).get_data(as_text=True)
        token = csrf_token_in(html)
        assert token, f"no CSRF token on {page}"
        return token

    def submit(self, page: str, action: str, **data: Any) -> TestResponse:
        """Fill in the form of ``page`` (with its CSRF token) and post it to ``action``."""
        return self.post(action, data={"csrf_token": self.csrf_token(page), **data})

    def register(self, username: str, password: str = PASSWORD) -> TestResponse:
        return self.submit(
            "/auth/register",
            "/auth/register",
            username=username,
            email=f"{username}@example.com",
            password=password,
            confirm=password,
        )

    def log_in(self, username: str, password: str = PASSWORD, next: str = "") -> TestResponse:
        return self.submit(
            "/auth/login", "/auth/login", username=username, password=password, next=next
        )

    def log_out(self) -> TestResponse:
        return self.submit("/auth/account", "/auth/logout")

    def blog_user(self) -> str | None:
        """Whom the blog's home page says is signed in, if anyone."""
        page = self.get("/").get_data(as_text=True)
        match = SIGNED_IN.search(page)
        return match.group(1) if match else None

    @property
    def identity(self) -> str | None:
        """The identity token this browser holds, if any."""
        cookie = self.client.get_cookie("identity")
        return cookie.value if cookie else None

    def set_identity(self, token: str) -> None:
        """Put back an identity cookie captured earlier (what an attacker with a copy does)."""
        self.client.set_cookie("identity", token)


@dataclass
class System:
    """The apps by service name, the dispatcher serving them, and their environment."""

    apps: dict[str, Flask]
    wsgi: Any
    environ: Mapping[str, str]

    def browser(self) -> Browser:
        return Browser(Client(self.wsgi))

    def token(self, username: str, password: str = PASSWORD) -> str:
        """A bearer token from POST /auth/api/token."""
        response = Client(self.wsgi).post(
            "/auth/api/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        token: str = response.get_json()["access_token"]
        return token

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> TestResponse:
        """A request to the API at /api with ``Authorization: Bearer <token>``."""
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return Client(self.wsgi).open(f"/api{path}", method=method, headers=headers, **kwargs)

    def signed_token(self, username: str, *, issued_ago: float, lifetime: float) -> str:
        """A token for ``username`` signed with auth's own key, issued ``issued_ago`` seconds ago.

        What auth would have handed out earlier: lets a test present a token that has expired
        since, without waiting for it.
        """
        from auth_service.extensions import db
        from auth_service.models import User
        from auth_service.signing import keyring
        from servicekit.claims import identity_claims
        from servicekit.signingkey import sign_claims

        app = self.apps["auth"]
        with app.app_context():
            user = db.session.scalar(db.select(User).where(User.username == username))
            assert user is not None
            claims = identity_claims(
                str(user.id),
                user.username,
                user.roles,
                issuer=app.config["AUTH_ISSUER"],
                audience=app.config["AUTH_AUDIENCE"],
                lifetime=lifetime,
                issued_at=time.time() - issued_ago,
            )
            key = keyring().active
            return sign_claims(claims, key.private_key, key.kid)

    def verify_email(self, username: str) -> None:
        """Follow the verification link auth queued for ``username`` (read from its outbox)."""
        from auth_service.extensions import db
        from auth_service.mail.models import OutboxMessage

        with self.apps["auth"].app_context():
            body = db.session.scalars(
                db.select(OutboxMessage.text_body)
                .where(
                    OutboxMessage.kind == "verify_email",
                    OutboxMessage.recipient == f"{username}@example.com",
                )
                .order_by(OutboxMessage.id.desc())
            ).first()
        assert body, f"no verification email for {username}"
        match = re.search(r"https?://[^/\s]+(/\S+)", body)
        assert match
        path = match.group(1)
        assert path.startswith("/auth/verify/"), "the link carries the service's prefix"
        browser = self.browser()
        page = browser.get(path).get_data(as_text=True)
        assert f'action="{path}"' in page, "the confirm form posts back to the prefixed link"
        response = browser.submit(path, path)
        assert response.status_code == 302, response.get_data(as_text=True)

    def make_admin(self, username: str) -> None:
        """Give ``username`` every role with auth's own CLI command (as an operator would)."""
        runner = self.apps["auth"].test_cli_runner()
        result = runner.invoke(
            args=[
                "create-admin",
                "--username",
                username,
                "--email",
                f"{username}@example.com",
                "--password",
                PASSWORD,
            ]
        )
        assert result.exit_code == 0, result.output
