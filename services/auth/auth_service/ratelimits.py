"""The rate limits on everything that takes a password (Flask-Limiter).

Two limits guard each credential endpoint:

* per client IP, counting every attempt: one address cannot try many accounts quickly;
* per account, one budget (:func:`account_budget`): nobody can guess one account's password
  quickly from many addresses.

The account budget is one counter per account, shared by the login form and the token
endpoint, whichever name (username or email, in any case or Unicode form) the attempt uses.
It is counted atomically *before* the password is checked, on every attempt: 25 concurrent
guesses get 5 password checks, not 25 (counting failures after the check, as a response
filter does, lets every concurrent attempt through the check first). Successful sign-ins
count too; a person rarely signs in five times a minute.

An attempt naming no account is counted under the normalised name it typed, so the limit
says nothing about which accounts exist. A body that is not JSON, or JSON nested too deeply to
read (servicekit.inputs), names no account; it still counts toward the per-IP limit.

The forms that ask a signed-in user for their current password (change password or email,
deactivate, two-factor on, off and new recovery codes) spend the same budget
(:data:`current_password_budget`): otherwise a stolen session could guess the password there,
five times a minute per form on top of the login's five.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user

from auth_service.accounts.lookup import find_user, login_key
from auth_service.events import auth_event
from auth_service.extensions import limiter
from servicekit.inputs import unstorable

#: The scope of the per-account budget: shared limits with one scope share their counters.
ACCOUNT_BUDGET_SCOPE = "login-account"
#: Longer than any username or email: not worth a database look-up.
LONGEST_LOGIN = 320


def config_limit(name: str) -> Callable[[], str]:
    """A limit read from the app's configuration when the request comes."""
    return lambda: str(current_app.config[name])


def failed_attempt(_response: object) -> bool:
    """Count the request against a limit only when the credentials were wrong (deduct_when).

    For limits where a success must not count and a race is harmless (the second step of a
    two-factor sign-in, which a password already guards).
    """
    return bool(g.get("credentials_failed", False))


def log_lockout(limit: RequestLimit) -> None:
    """An auth event for each refused attempt (on_breach callback)."""
    scope = "account" if "account:" in limit.key else "ip"
    auth_event("rate_limited", limit=str(limit.limit), scope=scope)


def submitted_login() -> str:
    """The account an attempt names: ``username`` in the login form or the token API's JSON."""
    if request.is_json:
        # None for absurdly nested JSON too (servicekit.inputs): the view answers 400.
        body = request.get_json(silent=True)
        value = body.get("username") if isinstance(body, dict) else None
    else:
        value = request.form.get("username")
    return value if isinstance(value, str) else ""


def account_budget_key() -> str:
    """The per-account budget's key: the account's id if it exists, else the typed name."""
    login = submitted_login()
    if len(login) > LONGEST_LOGIN:
        return "account:name:(too long)"
    if unstorable(login):  # NUL or a lone surrogate: no query can take it, no key can hold it
        return "account:name:(unstorable)"
    user = find_user(login) if login.strip() else None
    return f"account:user:{user.id}" if user is not None else f"account:name:{login_key(login)}"


def _not_a_password_attempt() -> bool:
    """GET pages, and personal-token exchanges (256 random bits: the per-IP limit suffices)."""
    if request.method != "POST":
        return True
    if request.is_json:
        body = request.get_json(silent=True)
        return isinstance(body, dict) and body.get("grant_type") == "personal_access_token"
    return False


#: The decorator of every view that checks a password for a sign-in.
account_budget = limiter.shared_limit(
    config_limit("LOGIN_RATE_LIMIT_ACCOUNT"),
    scope=ACCOUNT_BUDGET_SCOPE,
    key_func=account_budget_key,
    exempt_when=_not_a_password_attempt,
    on_breach=log_lockout,
)


def signed_in_account_key() -> str:
    """The per-account budget's key for the signed-in user (the same as their login's)."""
    return f"account:user:{current_user.id}"


def _no_current_password_to_check() -> bool:
    """GET pages, and anonymous requests (login_required sends those to the login page)."""
    return request.method != "POST" or not current_user.is_authenticated


#: The decorator of every view that asks the signed-in user for their current password.
current_password_budget = limiter.shared_limit(
    config_limit("LOGIN_RATE_LIMIT_ACCOUNT"),
    scope=ACCOUNT_BUDGET_SCOPE,
    key_func=signed_in_account_key,
    exempt_when=_no_current_password_to_check,
    on_breach=log_lockout,
)


__all__ = [
    "account_budget",
    "config_limit",
    "current_password_budget",
    "failed_attempt",
    "get_remote_address",
    "log_lockout",
]
