"""Flask's signed-cookie session, without its per-request costs when there is no session.

Flask's ``SecureCookieSessionInterface`` builds a new signing serializer (and reads seven
settings) on every request, even one with no cookie that never touches the session: on a
hello-world that was a tenth of the request's CPU (docs/benchmarks.md, "The shared hooks").
This one keeps the serializer while the secret keys stay the same, answers a request without a
``Cookie`` header with a new empty session at once, and skips the cookie settings when an
unmodified empty session has nothing to save. Cookies, signatures and expiry are Flask's own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer


class CheapSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie sessions, with the serializer kept and the empty case short."""

    def __init__(self) -> None:
        self._serializer: tuple[Any, URLSafeTimedSerializer | None] = (None, None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # The keys are read each time, so a rotated SECRET_KEY (or fallback) takes effect.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._serializer
        if cached_keys != keys:
            serializer = super().get_signing_serializer(app)
            self._serializer = (keys, serializer)
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "HTTP_COOKIE" not in request.environ and app.secret_key:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:  # nothing to set or delete
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def install_sessions(app: Flask) -> None:
    """Give ``app`` the cheaper cookie sessions."""
    app.session_interface = CheapSessionInterface()
