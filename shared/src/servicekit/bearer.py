"""The bearer side: API clients send ``Authorization: Bearer <token>`` and get problem+json.

A missing or bad token is a 401 with ``WWW-Authenticate`` (RFC 6750); a token whose
revocation state cannot be checked is a 503 with ``Retry-After``, so a client keeps its token
and retries; a token lacking a role or scope is a 403 naming what it lacks.

Only the api reads bearer tokens today. It is shared all the same because it is one half of the
verifier's Flask wiring (the other half, the browser's cookie, is :mod:`servicekit.identitycookie`):
both rest on :func:`servicekit.identity.verify_once_per_request`, and a service that grows a JSON
endpoint for programs should use this rather than a copy that drifts from the cookie side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import request

from servicekit.errors import Problem
from servicekit.identity import RETRY_AFTER_SECONDS, verify_once_per_request
from servicekit.verifier import Identity

P = ParamSpec("P")
R = TypeVar("R")


def _bearer_problem(detail: str, error: str = "invalid_token") -> Problem:
    return Problem(
        401,
        detail,
        headers={"WWW-Authenticate": f'Bearer realm="api", error="{error}"'},
    )


def bearer_token() -> str | None:
    """The token of this request's ``Authorization: Bearer`` header, if it has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def bearer_identity() -> Identity:
    """The identity of the ``Authorization: Bearer`` token of this request, or a 401 Problem."""
    token = bearer_token()
    if token is None:
        raise Problem(
            401,
            "This request needs an 'Authorization: Bearer <token>' header.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    identity = verify_once_per_request(token)
    if identity is None:
        raise _bearer_problem("The bearer token is invalid, expired or revoked.")
    if not identity.revocation_checked:
        # Not 401: the token may well be fine, and a client must not throw it away. A program
        # holding a stolen token gets nothing either way; the owner retries.
        raise Problem(
            503,
            "Whether this token was revoked cannot be checked right now. Retry shortly.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return identity


def require_scope(identity: Identity, scope: str) -> None:
    """A 403 problem naming ``scope`` unless ``identity``'s token allows it (RFC 6750's
    ``insufficient_scope``: the client learns which scope its token lacks)."""
    if not identity.allows(scope):
        raise Problem(
            403,
            f"This token lacks the scope '{scope}' this operation needs.",
            headers={
                "WWW-Authenticate": (
                    f'Bearer realm="api", error="insufficient_scope", scope="{scope}"'
                )
            },
            missing_scope=scope,
        )


def bearer_required(roles: Iterable[str] = ()) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """For JSON views: a valid bearer token, and one of ``roles`` if given (admins always pass)."""
    needed = tuple(roles)

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
            identity = bearer_identity()
            if needed and not identity.has_role(*needed):
                raise Problem(403, "Your token does not carry the role this operation needs.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
