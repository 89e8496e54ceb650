"""The rate limits on everything that takes a password (Flask-Limiter).

Two limits guard each credential endpoint:

* per client IP, counting every attempt: one address cannot try many accounts quickly;
* per account, counting failed attempts only: nobody can guess one account's password quickly
  from many addresses, and its owner, who gets it right, is not locked out by successes.

The per-account key is the submitted name, whether or not such an account exists, so the limit
says nothing about which accounts exist.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

from auth_service.events import auth_event


def account_key(field: str) -> Callable[[], str]:
    """A key function: the account named by form field or JSON member ``field``."""

    def key() -> str:
        if request.is_json:
            body = request.get_json(silent=True)
            value = body.get(field) if isinstance(body, dict) else None
        else:
            value = request.form.get(field)
        name = value.strip().lower() if isinstance(value, str) else ""
        return f"account:{name}"

    return key


def config_limit(name: str) -> Callable[[], str]:
    """A limit read from the app's configuration when the request comes."""
    return lambda: str(current_app.config[name])


def failed_attempt(_response: object) -> bool:
    """Count the request against the per-account limit only when the credentials were wrong."""
    return bool(g.get("credentials_failed", False))


def log_lockout(limit: RequestLimit) -> None:
    """An auth event for each refused attempt (on_breach callback)."""
    scope = "account" if "account:" in limit.key else "ip"
    auth_event("rate_limited", limit=str(limit.limit), scope=scope)


__all__ = ["account_key", "config_limit", "failed_attempt", "get_remote_address", "log_lockout"]
