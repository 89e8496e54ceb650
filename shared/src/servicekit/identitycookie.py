"""The browser side: the origin-wide identity cookie, and signing browser users in from it.

auth sets the cookie at login (and blog's development sign-in sets one it minted itself);
blog signs users in from it with Flask-Login's ``request_loader``, keeping no login state of
its own. Views a browser sees guard themselves with :func:`signed_in_required` or
:func:`roles_required`; a stranger is sent to auth's login page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import quote

from flask import Flask, Request, current_app, g, redirect, request
from flask_login import LoginManager, current_user
from werkzeug.exceptions import Forbidden, ServiceUnavailable
from werkzeug.wrappers import Response as WerkzeugResponse

from servicekit.identity import RETRY_AFTER_SECONDS, verify_once_per_request
from servicekit.verifier import Identity

log = logging.getLogger(__name__)

#: Methods that change nothing: the only ones a token of unknown revocation state may be used for.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

P = ParamSpec("P")
R = TypeVar("R")
ResponseT = TypeVar("ResponseT", bound=WerkzeugResponse)


def set_identity_cookie(response: ResponseT, token: str, *, max_age: int) -> ResponseT:
    """Put ``token`` in the origin-wide identity cookie for ``max_age`` seconds.

    HttpOnly (no script reads it), SameSite=Lax (no cross-site form posts with it), Secure
    when the app's session cookie is.
    """
    config = current_app.config
    response.set_cookie(
        config["IDENTITY_COOKIE_NAME"],
        token,
        max_age=max_age,
        path="/",
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def clear_identity_cookie(response: ResponseT) -> ResponseT:
    """Remove the identity cookie from the browser (with the attributes it was set with)."""
    config = current_app.config
    response.delete_cookie(
        config["IDENTITY_COOKIE_NAME"],
        path="/",
        secure=config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _cannot_check_revocation() -> ServiceUnavailable:
    return ServiceUnavailable(
        "We cannot confirm your sign-in right now, so nothing was changed. "
        "Please try again in a moment.",
        retry_after=RETRY_AFTER_SECONDS,
    )


def load_identity_from_cookie(req: Request) -> Identity | None:
    """A Flask-Login ``request_loader``: the identity in the origin-wide identity cookie.

    A token limited to scopes was made for an API client: pasted into a cookie it would open
    every page of the user, so it signs nobody in here.

    While revocations cannot be checked, a genuine unexpired cookie still signs the user in
    for reading (GET, HEAD): the page renders as theirs. Any other method is refused with a
    503 instead: a token that may have been revoked never changes anything.
    """
    token = req.cookies.get(current_app.config.get("IDENTITY_COOKIE_NAME", "identity"))
    identity = verify_once_per_request(token) if token else None
    if identity is not None and identity.scopes is not None:
        log.info("identity token refused as a cookie: it is limited to scopes")
        return None
    if identity is not None and not identity.revocation_checked and req.method not in SAFE_METHODS:
        if g.get("identity_write_refused"):
            return None  # asked again by the error page: render it as for a stranger
        g.identity_write_refused = True
        raise _cannot_check_revocation()
    return identity


def login_url(next_path: str | None = None) -> str:
    """The auth service's login page, asking it to send the user back to ``next_path``."""
    target = (
        next_path if next_path is not None else request.script_root + request.full_path.rstrip("?")
    )
    return f"{current_app.config.get('LOGIN_URL', '/auth/login')}?next={quote(target, safe='/')}"


def install_cookie_login(app: Flask, login_manager: LoginManager) -> None:
    """Sign browser users in from the identity cookie; send the rest to the auth service.

    The service keeps no login state of its own: every request is checked against the cookie
    auth set, so signing out in auth (which clears the cookie and revokes the token) signs the
    user out here too.
    """
    login_manager.init_app(app)
    login_manager.request_loader(load_identity_from_cookie)
    login_manager.unauthorized_handler(_send_to_login)


def _send_to_login() -> WerkzeugResponse:
    return redirect(login_url())


def signed_in_required(view: Callable[P, R]) -> Callable[P, R | WerkzeugResponse]:
    """For Flask-Login views: sign-in required, any role; strangers go to the login page."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | WerkzeugResponse:
        if not current_user.is_authenticated:
            return _unauthorized()
        return view(*args, **kwargs)

    return wrapped


class RoleRequired(Forbidden):
    """A 403: the signed-in user has none of ``roles``, the roles that would open the page.

    The error page gets the exception as ``error``, so it can say what each role is for and
    who grants it, instead of a bare refusal.
    """

    def __init__(self, roles: Iterable[str]) -> None:
        super().__init__("Your account does not have the role this page needs.")
        self.roles = tuple(roles)


def roles_required(
    role: str, *roles: str
) -> Callable[[Callable[P, R]], Callable[P, R | WerkzeugResponse]]:
    """For Flask-Login views: sign-in required, and one of the roles (admins always pass)."""
    needed = (role, *roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R | WerkzeugResponse]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | WerkzeugResponse:
            if not current_user.is_authenticated:
                return _unauthorized()
            if not current_user.has_role(*needed):
                raise RoleRequired(needed)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _unauthorized() -> WerkzeugResponse:
    """What Flask-Login does with a stranger: here, the redirect to auth's login page."""
    manager: LoginManager = current_app.login_manager  # type: ignore[attr-defined]
    response: WerkzeugResponse = manager.unauthorized()
    return response
